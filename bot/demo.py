"""`clausebot demo`: a whole consultation offline.

A local Bot API server runs on loopback; the real bot (the same application as `clausebot
run`) talks to it over HTTP; simulated people play the Secretariat, chairs and delegates.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from bot.context import ClausebotApplication
    from bot.db import Database
    from localapi import LocalBotApi
    from localapi.users import SimMessage, SimUser

DEMO_TOKEN = "123456789:CLAUSEBOT-DEMO-TOKEN"

OPENINGS = [
    "The Member State supports this clause but",
    "We suggest that",
    "For consistency with the ASEAN Declaration,",
    "Our ministry notes that",
    "To reflect national practice,",
    "The sectoral body recommends that",
    "Please clarify whether",
]
POINTS = [
    "the reference to informal workers be made explicit",
    "coverage targets be phased in line with national fiscal capacity",
    "migrant workers and their families are covered by this provision",
    "the role of the sectoral bodies in monitoring be spelled out",
    "persons with disabilities be named among the vulnerable groups",
    "the timeframe be aligned with the ASEAN Community Vision 2025",
    "disaster-affected households be included in the scope",
    "the term 'social protection floor' be defined in the glossary",
    "data sharing respect national legislation on privacy",
    "rural and remote communities receive specific attention",
]
# The Secretariat's answers in the demo, in turn: the button pressed and the observation typed
# (None: skipped, where it may be).
ANSWERS = [
    ("Accepted", None),
    ("In part", "Kept, with the wording adjusted to national circumstances."),
    ("Noted", "To be taken up in the Plan of Action."),
    ("Not accepted", "Outside the scope agreed in the ASEAN Declaration."),
]
ANSWERED_AT_MOST = 8
# The national focal points who join for the endorsement, one per Member State.
FOCAL_NAMES = ["Hajah Noor", "Sokha", "Dewi", "Khamla", "Aziz", "Thida", "Ligaya", "Wei Ling", "Malee", "Lan"]

# Three comments in five propose wording: the clause as the bot gives it, edited.
PROPOSES = [True, True, True, False, False]


class DemoClock:
    """The bot's clock, which the demo moves forward to play weeks in seconds."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, moment: datetime) -> None:
        self.offset = max(self.offset, moment - datetime.now(UTC))


class Printer:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)


async def run_demo(
    *, out: Path, delegates: int = 12, comments: int = 30, database: str | None = None, quiet: bool = False
) -> int:
    from bot.app import build_application
    from bot.db import Database, upgrade_async
    from bot.runner import polling
    from bot.services import registry
    from documents.sample import propose_edit, sample_draft
    from localapi import LocalBotApi

    say = Printer(quiet)
    rng = random.Random(2014)
    delegates = max(1, delegates)
    comments = max(0, comments)
    with tempfile.TemporaryDirectory(prefix="clausebot-demo-") as tmp:
        database = database or f"sqlite:///{tmp}/demo.db"
        async with LocalBotApi() as server:
            say(f"Local Bot API server on {server.url} (nothing leaves this machine)")
            settings = Settings(
                telegram_bot_token=DEMO_TOKEN,
                telegram_api_url=server.url,
                database_url=database,
                timezone="Asia/Jakarta",
                outbox_poll_seconds=0.5,
                # Compressed time: no quiet hours, no weekly digests; milestones and reminders only.
                quiet_hours="",
                digest_every="",
                _env_file=None,
            )
            await upgrade_async(settings.database_url)
            db = Database(settings.database_url)
            async with db.session() as session:
                await registry.seed_asean(session)
                bodies = [b.code for b in await registry.list_bodies(session)]
                states = [s.name for s in await registry.list_states(session)]
            say(f"Registered {len(bodies)} sectoral bodies and {len(states)} Member States")

            clock = DemoClock()
            application = build_application(settings, db=db, clock=clock)
            async with polling(application, poll_timeout=5):
                username = application.bot.username
                say(f"Bot @{username} is polling the local server")

                async def invite(role: str, body: str | None, state: str | None, name: str) -> str:
                    async with db.session() as session:
                        issued = await registry.issue_invite(
                            session, registry.CONSOLE, role=role, body=body, state=state, name=name, now=clock()
                        )
                    return issued.token

                # The Secretariat joins with a link printed by `clausebot invite --role secretariat`.
                officer = server.user(1000, "Mega", "Irena")
                await officer.send(f"/start {await invite('secretariat', None, None, 'Mega Irena')}")
                await officer.next_message()
                say("Secretariat officer joined")

                await officer.send_document(sample_draft(), "asean-sp-framework-zero-draft.docx")
                outline = await officer.wait_for("Parsed outline")
                say("Draft uploaded; the bot parsed " + next(x for x in outline.content.split("\n") if "clauses:" in x))
                await officer.press(outline, "new consultation")
                stored = await officer.wait_for("Draft stored")
                name = stored.content.split("Consultation: ")[1].split("\n")[0].strip()
                say(f"Outline confirmed; consultation '{name}' created")

                pairs = list(itertools.product(bodies, states))
                rng.shuffle(pairs)
                people = []
                for index in range(delegates):
                    body, state = pairs[index % len(pairs)]
                    user = server.user(2000 + index, f"Delegate{index + 1}", state.split()[0])
                    people.append((user, body, state))
                chairs = []
                for index, body in enumerate(sorted({b for _, b, _ in people})[:2]):
                    chairs.append((server.user(3000 + index, f"Chair of {body}"), body))

                for user, body, state in people:
                    await user.send(f"/start {await invite('delegate', body, state, user.first_name)}")
                for user, body in chairs:
                    await user.send(f"/start {await invite('chair', body, None, user.first_name)}")
                for user, *_ in people:
                    await user.wait_for("registered")
                for user, _ in chairs:
                    await user.wait_for("registered")
                say(f"{len(people)} delegates and {len(chairs)} chairs joined with their invite links")

                await officer.send("/open 60")
                opened = await officer.wait_for("is open until")
                say("Round opened: " + opened.content.split("\n")[0].replace("📣 ", ""))

                sections_per_person = {}
                for user, _body, _state in people:
                    await user.wait_for("You are asked to comment", timeout=30)
                    received = await _section_messages(user)
                    sections_per_person[user.id] = received
                total_messages = sum(len(v) for v in sections_per_person.values())
                say(f"Circulated: {total_messages} section messages delivered to {len(people)} delegates")

                ways = itertools.cycle(["button", "reply", "command"])
                sent = 0
                # Two delegates in three comment; the others stay silent, to be reminded.
                active = people[: max(1, (2 * len(people)) // 3)]
                for number in range(comments):
                    user, body, state = active[number % len(active)]
                    messages = sections_per_person[user.id]
                    message = rng.choice(messages)
                    buttons = [
                        label for row in message.buttons() for label, data in row if data and data.startswith("cm:")
                    ]
                    if not buttons:
                        continue
                    ref = rng.choice(buttons).replace("💬 ", "")
                    text = f"{rng.choice(OPENINGS)} {rng.choice(POINTS)}."
                    proposes = rng.choice(PROPOSES)
                    kind = rng.choice(["General", "Technical", "Editorial"])
                    way = next(ways)
                    if way == "button":
                        await user.press(message, f"💬 {ref}")
                        prompt = await user.wait_for("What type of comment")
                        await user.press(prompt, kind)
                        await user.wait_for("Write your")
                        await user.send(text)
                    elif way == "reply":
                        await user.send(f"{ref} {text}", reply_to=message)
                        prompt = await user.wait_for(
                            lambda m: "What type of comment" in m.content or "Which one" in m.content
                        )
                        if "Which one" in prompt.content:
                            await user.press(prompt, ref)
                            prompt = await user.wait_for("What type of comment")
                        await user.press(prompt, kind)
                    else:
                        await user.send(f"/comment {ref} {text}")
                        prompt = await user.wait_for("What type of comment")
                        await user.press(prompt, kind)
                    ask = await user.wait_for("propose new wording")
                    offered = ask.copy_texts()
                    if proposes and offered:
                        # Copied from the button or the block, a word replaced or a phrase added.
                        await user.send(propose_edit(offered[0], rng.randrange(1000)))
                    else:
                        await user.press(ask, "Skip")
                    check = await user.wait_for("Please check your comment")
                    await user.press(check, "Send")
                    await user.wait_for(lambda m: "is recorded" in m.content)
                    sent += 1
                    say(f"{body} – {state} commented on {ref} ({kind.lower()}, by {way})")

                # Some delegates have nothing to add on a section.
                for user, body, state in active[: max(1, len(active) // 4)]:
                    last = sections_per_person[user.id][-1]
                    await user.press(last, "No comments on this section")
                    await user.wait_for("no comments on section")
                    say(f"{body} – {state}: no comments on one section")

                # One delegate reviews their comments and withdraws one.
                reviewer = active[0] if comments else None
                if reviewer and comments:
                    user = reviewer[0]
                    await user.send("/mycomments")
                    await user.wait_for("You have")
                    listing = await user.wait_for(lambda m: any("Withdraw" in t for t in m.button_texts()))
                    await user.press(listing, "Withdraw")
                    confirm = await user.wait_for("Withdraw your comment")
                    await user.press(confirm, "Yes, withdraw")
                    await user.wait_for("is withdrawn")
                    sent -= 1
                    say(f"{reviewer[1]} – {reviewer[2]} withdrew one comment from /mycomments")

                for chair, _body in chairs:
                    await chair.send("/status")
                    report = await chair.wait_for("Member States responded")
                    line = next(x for x in report.content.split("\n") if "Member States responded" in x)
                    say(f"Chair's /status: {line}")

                await officer.send("/status")
                report = await officer.wait_for("comment(s) so far")
                say("Secretariat's /status: " + next(x for x in report.content.split("\n") if "so far" in x))

                await _fast_forward(say, application, db, clock, name, people, chairs, officer, out)
                await _answer_and_publish(say, officer, people, min(ANSWERED_AT_MOST, (2 * sent) // 3))

                await officer.send("/consolidate")
                document = await officer.wait_for(lambda m: m.document is not None, timeout=120)
                out = out.expanduser()
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(document.file_bytes or b"")
                say(
                    f"Consolidated draft received in chat: {document.caption.splitlines()[0] if document.caption else ''}"
                )
                for suffix in ("-with-proposals.docx", "-comment-matrix.xlsx"):
                    extra = await officer.wait_for(lambda m: m.document is not None, timeout=60)
                    path = out.with_name(out.stem + suffix)
                    path.write_bytes(extra.file_bytes or b"")
                    say(f"Also received: {(extra.document or {}).get('file_name', path.name)} → {path}")

                await _next_stages(say, db, officer, people, name, out)
                await _endorsement(say, server, application, db, clock, officer, people, states, name, out, invite)
            await db.dispose()
    say(f"{sent} comments consolidated")
    print(out.resolve())
    sys.stdout.flush()
    return 0


async def _fast_forward(
    say: Printer,
    application: ClausebotApplication,
    db: Database,
    clock: DemoClock,
    name: str,
    people: list[tuple[SimUser, str, str]],
    chairs: list[tuple[SimUser, str]],
    officer: SimUser,
    out: Path,
) -> None:
    """Play the rest of the window: every reminder and milestone summary, in seconds."""
    from bot.services import rounds, timetable

    async with db.session() as session:
        consultation = await rounds.resolve_consultation(session, name)
        plan = [
            (job.kind, job.label, job.due_at)
            for job in await timetable.plan_of(session, consultation)
            if job.status == "pending"
        ]
        deadline = consultation.deadline
    if deadline is None:
        return
    say(f"Fast-forwarding through the {len(plan)} planned reminders and summaries of the 60-day window")
    out.parent.mkdir(parents=True, exist_ok=True)
    timer, sender = application.bot_data.timer, application.bot_data.sender
    if timer is None or sender is None:
        raise RuntimeError("the bot's timer and sender start with the application")
    everyone = [p[0] for p in people] + [c[0] for c in chairs] + [officer]
    for due in sorted({due for _, _, due in plan}):
        before = {user.id: len(user.messages()) for user in everyone}
        clock.jump_to(due + timedelta(seconds=1))
        await timer.fire()
        sender.wake()
        await asyncio.sleep(0.2)
        await asyncio.gather(*(user.drain(quiet=0.4) for user in everyone))
        new = {user.id: user.messages()[before[user.id] :] for user in everyone}
        days = (deadline - due).total_seconds() / 86400
        when = (
            f"{days:g} day{'s' if days != 1 else ''} before the deadline"
            if days >= 1
            else ("on the deadline day" if days > 0 else "at the deadline")
        )
        reminded = [(u, b, s) for u, b, s in people if any("comments are due by" in m.content for m in new[u.id])]
        if reminded:
            user, body, state = reminded[0]
            sample = next(m for m in new[user.id] if "comments are due by" in m.content)
            say(
                f"⏩ {when}: reminder to {len(reminded)} delegate(s) who have not answered, e.g. {body} – {state}: “{sample.content.splitlines()[0]}”"
            )
        for chair, body in chairs:
            photos = [m for m in new[chair.id] if m.photo is not None]
            summary = next((m for m in new[chair.id] if "Member States have responded" in m.content), None)
            if summary:
                line = next(x for x in summary.content.splitlines() if "Member States have responded" in x)
                say(f"⏩ {when}: chair of {body} got a summary with its chart — {line}")
            if photos:
                out.with_name(out.stem + f"-chart-{body}.png").write_bytes(photos[-1].file_bytes or b"")
    if plan:
        say(f"Response charts saved next to the draft: {out.stem}-chart-*.png")


async def _next_stages(
    say: Printer, db: Database, officer: SimUser, people: list[tuple[SimUser, str, str]], name: str, out: Path
) -> None:
    """After the first round: the revised draft as v1 (the proposals the Secretariat
    accepted written in), final comments on its changed clauses, then SOMSWD's review."""
    import io

    from docx import Document
    from sqlalchemy import select

    from bot.models import Clause, Comment, Version
    from bot.services import rounds
    from documents.sample import propose_edit

    async with db.session() as session:
        consultation = await rounds.resolve_consultation(session, name)
        draft = await session.scalar(select(Version.draft_bytes).where(Version.id == consultation.version_id))
        accepted: list[tuple[str, str | None]] = [
            (text, proposed)
            for text, proposed in await session.execute(
                select(Clause.text, Comment.proposed)
                .join(Clause, Clause.id == Comment.clause_id)
                .where(
                    Comment.consultation_id == consultation.id,
                    Comment.disposition.in_(("accepted", "partly")),
                    Comment.proposed.is_not(None),
                )
                .order_by(Clause.position)
            )
        ]
        if not accepted:  # nothing accepted with wording: the Secretariat revises two clauses itself
            clauses = list(await session.scalars(select(Clause).where(Clause.version_id == consultation.version_id)))
            accepted = [(c.text, propose_edit(c.text, k)) for k, c in enumerate(clauses[1:3])]
    document = Document(io.BytesIO(draft or b""))
    revised = 0
    for old, new in accepted:
        first_old, first_new = old.split("\n")[0], (new or "").split("\n")[0]
        for paragraph in document.paragraphs:
            if paragraph.text.strip().endswith(first_old) and first_new and first_new != first_old:
                paragraph.text = paragraph.text.replace(first_old, first_new)
                revised += 1
                break
    buffer = io.BytesIO()
    document.save(buffer)
    v1 = out.with_name(out.stem + "-v1.docx")
    v1.write_bytes(buffer.getvalue())

    await officer.send(f"/close {name}")
    await officer.wait_for(lambda m: "closed" in m.content or "not open" in m.content)
    await officer.send_document(buffer.getvalue(), v1.name)
    await officer.press(await officer.wait_for("Parsed outline"), "New version of")
    checked = await officer.wait_for(lambda m: "Stored as" in m.content or "not stored yet" in m.content)
    if "not stored yet" in checked.content:
        doubtful = [x[2:] for x in checked.content.splitlines() if x.startswith("• ")]
        say(f"v1's matches to check before it is stored: {'; '.join(doubtful[:3])}; the Secretariat stores it as it is")
        await officer.press(checked, "Store as")
    stored = await officer.wait_for("Stored as")
    say(f"The revised draft, {revised} clause(s) rewritten from accepted proposals: " + stored.content.splitlines()[1])
    await officer.send(f"/open {name} final 14")
    opened = await officer.wait_for("is open until")
    say("/open final 14: " + " ".join(opened.content.splitlines()[:3]))
    user, body, state = people[0]
    intro = await user.wait_for("Final comments")
    say(f"{body} – {state} received: “{intro.content.splitlines()[1]}”")
    await officer.send(f"/close {name}")
    await officer.wait_for("closed")
    await officer.send(f"/open {name} review SOMSWD 7")
    opened = await officer.wait_for("is open until")
    say("/open review SOMSWD 7: " + opened.content.splitlines()[0] + " " + opened.content.splitlines()[1])
    await officer.send(f"/stage {name}")
    history = await officer.wait_for("Stages")
    stages = history.content.split("Stages", 1)[1].strip().splitlines()
    for line in stages:
        say(f"/stage: {line}")
    say(f"v1 saved next to the draft: {v1}")


async def _endorsement(
    say: Printer,
    server: LocalBotApi,
    application: ClausebotApplication,
    db: Database,
    clock: DemoClock,
    officer: SimUser,
    people: list[tuple[SimUser, str, str]],
    states: list[str],
    name: str,
    out: Path,
    invite: Callable[[str, str | None, str | None, str], Awaitable[str]],
) -> None:
    """The last stage: every body endorses v1 under the silence procedure. Each Member State's
    focal point joins and answers for the state (or keeps silent); one delegate objects, which
    breaks the silence, then endorses with a reservation; at the deadline the record comes."""
    from bot.services import rounds

    focals = [
        server.user(4000 + index, FOCAL_NAMES[index % len(FOCAL_NAMES)], state.split()[0])
        for index, state in enumerate(states)
    ]
    for user, state in zip(focals, states, strict=True):
        await user.send(f"/start {await invite('focal', None, state, user.first_name)}")
    for user in focals:
        await user.wait_for("registered")
    say(f"{len(focals)} national focal points joined, one per Member State")

    await officer.send(f"/close {name}")
    await officer.wait_for("closed")
    await officer.send(f"/open {name} endorsement silence 30")
    warning = await officer.wait_for(lambda m: "no answer yet" in m.content or "is open until" in m.content)
    if "no answer yet" in warning.content:
        say("/open endorsement silence 30: " + warning.content.split(". ")[0].replace("⚠️ ", "") + " (a warning)")
        await officer.press(warning, "Open endorsement anyway")
    opened = await officer.wait_for("Endorsement of")
    say("Endorsement opened: " + opened.content.splitlines()[0].replace("📣 ", ""))

    ballots = {user.id: await user.wait_for("🖋 Endorsement", timeout=30) for user in focals}
    for user, *_ in people:
        ballots[user.id] = await user.wait_for("🖋 Endorsement", timeout=30)
    silence_line = next(x for x in ballots[focals[0].id].content.splitlines() if "Silence procedure" in x)
    say(f"Ballots sent to {len(ballots)} delegates and focal points: “{silence_line}”")

    # One delegate objects: the silence is broken, and the Secretariat hears of it at once.
    objector, body, state = people[-1]
    await objector.press(ballots[objector.id], "Cannot endorse")
    await objector.wait_for("Type the reason")
    await objector.send("Our ministry cannot fund the yearly reporting in 2.2 before the 2028 budget.")
    changed = await objector.wait_for("breaks the silence")
    alert = await officer.wait_for("The silence is broken")
    say(f"{body} – {state} cannot endorse: “{alert.content.splitlines()[0]}”")
    # Told what 2.2 now says, they endorse with a reservation instead.
    await objector.press(changed, "Endorse with a reservation")
    await objector.wait_for("Type the reservation")
    await objector.send("Reporting under 2.2 starts once our 2028 budget is adopted.")
    await objector.wait_for("Answer changed")
    say(f"{body} – {state} changed its answer to an endorsement with a reservation")

    # Two focal points endorse for their state; the others keep silent.
    for user, state in [(u, s) for u, s in zip(focals, states, strict=True) if s != state][:2]:
        await user.press(ballots[user.id], "✅ Endorse")
        await user.wait_for("Answer recorded")
        say(f"{state}'s focal point endorsed for every body of {state}")

    await officer.send(f"/status {name}")
    status = await officer.wait_for("🖋 Endorsement of")
    say("/status: " + next(x for x in status.content.splitlines() if "pairs:" in x))

    # The deadline passes: the stage closes, silence counts, the record goes to the Secretariat.
    async with db.session() as session:
        deadline = (await rounds.resolve_consultation(session, name)).deadline
    timer, sender = application.bot_data.timer, application.bot_data.sender
    if deadline is None or timer is None or sender is None:
        raise RuntimeError("the endorsement stage has a deadline and the bot its timer and sender")
    clock.jump_to(deadline + timedelta(seconds=1))
    await timer.fire()
    sender.wake()
    record = await officer.wait_for(lambda m: m.document is not None and "endorsement" in m.document["file_name"])
    path = out.with_name(out.stem + "-endorsement.docx")
    path.write_bytes(record.file_bytes or b"")
    say("⏩ At the deadline: " + " ".join(record.content.splitlines()[1:3]))
    say(f"Endorsement record saved: {path}")

    await officer.send(f"/stage {name}")
    history = await officer.wait_for("Stages")
    await officer.press(history, "Export the whole record")
    exported = await officer.wait_for(lambda m: m.document is not None and m.document["file_name"].endswith(".zip"))
    path = out.with_name(out.stem + "-record.zip")
    path.write_bytes(exported.file_bytes or b"")
    say(f"The whole record, exported from /stage: {path}")


async def _answer_and_publish(
    say: Printer, officer: SimUser, people: list[tuple[SimUser, str, str]], count: int
) -> None:
    """The Secretariat answers `count` comments in chat with /answer, a mix of dispositions,
    leaves the rest for later, and publishes the answers to the delegates."""
    if count < 1:
        return

    def card_or_done(m: SimMessage) -> bool:
        return "Your answer?" in m.content or "Every comment" in m.content

    await officer.send("/answer")
    card = await officer.wait_for(card_or_done)
    answered = 0
    while "Your answer?" in card.content and answered < count:
        label, observation = ANSWERS[answered % len(ANSWERS)]
        await officer.press(card, label)
        asked = await officer.wait_for("Now write the observation")
        if observation:
            await officer.send(observation)
        else:
            await officer.press(asked, "Skip")
        recorded = await officer.wait_for(lambda m: "recorded:" in m.content)
        say(
            f"Secretariat /answer: {recorded.content.split(' ', 1)[-1]}"
            + (f" — “{observation}”" if observation else "")
        )
        answered += 1
        card = await officer.wait_for(card_or_done)
    if "Your answer?" in card.content:
        await officer.press(card, "Stop")
        stopped = await officer.wait_for("Stopped")
        say(f"Secretariat stops for now: {stopped.content.split('. ')[1]}")
    await officer.send("/publish")
    published = await officer.wait_for(lambda m: "Answers to" in m.content or "Nothing new" in m.content)
    say("/publish: " + published.content.split(". ")[0].replace("📬 ", ""))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for user, body, state in people:
            told = next((m for m in user.messages() if "the Secretariat has answered" in m.content), None)
            if told is not None:
                say(f"{body} – {state} is told: “{told.content.splitlines()[0].replace('📬 ', '')}”")
                return
        await asyncio.sleep(0.1)


async def _section_messages(user: SimUser, timeout: float = 60.0) -> list[SimMessage]:
    """Wait until every section announced in the intro has arrived; return the section messages."""
    import re

    intro = next(m for m in user.messages() if "You are asked to comment" in m.content)
    announced = re.search(r"comment on (\d+) section", intro.content)
    expected = int(announced.group(1)) if announced else 1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        complete = [m for m in user.messages() if any(d and d.startswith("nc:") for row in m.buttons() for _, d in row)]
        if len(complete) >= expected:
            return [m for m in user.messages() if any(d and d.startswith("cm:") for row in m.buttons() for _, d in row)]
        await asyncio.sleep(0.1)
    raise TimeoutError(f"only part of the sections reached user {user.id}")
