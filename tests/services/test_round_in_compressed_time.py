"""A whole 60-day round played hour by hour against the database, with the bot down for a
while in the middle and a restart: exactly which reminders and summaries each person
receives, and when in their own time zone."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db import Database
from bot.models import Outbox
from bot.rendering import RENDERER
from bot.services import comments, outbox, registry, reminders, rounds, timetable
from bot.services.registry import CONSOLE
from tests.factories import at, small_draft

OPEN = at("2026-11-02T02:00:00")  # 09:00 in Jakarta
TIMING = timetable.Timing(default_tz="Asia/Jakarta")
HOUR = timedelta(hours=1)


async def _people(session):
    await registry.add_body(session, "SOMHD")
    await registry.add_body(session, "SLOM")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    await registry.add_state(session, "Myanmar", "MM", "Asia/Yangon")
    await registry.add_state(session, "Philippines", "PH", "Asia/Manila")
    people = {}
    for key, role, body, state in [
        ("thai", "delegate", "SOMHD", "Thailand"),
        ("myanmar", "delegate", "SOMHD", "Myanmar"),
        ("filipino", "delegate", "SLOM", "Philippines"),
        ("chair", "chair", "SOMHD", None),
        ("officer", "secretariat", None, None),
    ]:
        issued = await registry.issue_invite(session, CONSOLE, role=role, body=body, state=state, name=key, now=OPEN)
        uid = 100 + len(people)
        joined = await registry.join(
            session, issued.token, telegram_user_id=uid, chat_id=uid, username=None, full_name=key, now=OPEN
        )
        people[key] = joined.actor
    return people


async def _deliver(session, now, log):
    """What a sender does at `now`: everything due goes out."""
    for item in await outbox.claim(session, limit=10_000, now=now):
        await outbox.mark_sent(session, item, message_id=item.id, now=now)
        log[item.chat_id].append((item.kind, now, item.payload))


def plain(html_text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def _local_hours(entries, tz):
    return [when.astimezone(ZoneInfo(tz)).hour for _, when, _ in entries]


async def test_a_sixty_day_round_with_the_bot_down_and_restarted(database_url):
    db = Database(database_url)
    async with db.session() as session:
        people = await _people(session)
        outline = await rounds.import_draft(session, small_draft(), "plan.docx")
        consultation = await rounds.resolve_consultation(session, outline.consultation)
        deadline = rounds.parse_deadline(None, days=60, tz=ZoneInfo("Asia/Jakarta"), now=OPEN)
        await rounds.open_round(session, CONSOLE, consultation, deadline, render=RENDERER, now=OPEN, timing=TIMING)
        consultation_id = consultation.id

    log: dict[int, list] = defaultdict(list)
    down = (OPEN + timedelta(days=44), OPEN + timedelta(days=54))  # the 14d and 7d reminders fall in here
    now = OPEN
    restarted = False
    while now <= deadline + timedelta(days=1):
        if down[0] <= now < down[1]:
            now += HOUR
            continue
        if now >= down[1] and not restarted:
            await db.dispose()  # the process died; everything it knew is in the database
            db = Database(database_url)
            restarted = True
        async with db.session() as session:
            await reminders.fire_due(session, TIMING, render=RENDERER, now=now)
            await _deliver(session, now, log)
            if now == OPEN + timedelta(days=32):  # Thailand answers
                thai = people["thai"]
                clause = await comments.find_clause(
                    session, await session.get(type(consultation), consultation_id), thai, "2.1"
                )
                await comments.start_comment(session, thai, clause.id, text="Cover platform workers.", now=now)
                await comments.set_kind(session, thai, "te")
                await comments.set_proposed(session, thai, None, limit=8000)
                await comments.submit(session, thai, now=now)
            if now == OPEN + timedelta(days=58):  # the Philippines delegate mutes reminders
                await reminders.mute(session, people["filipino"], consultation_id, True)
        now += HOUR
    await db.dispose()

    def reminders_of(key):
        return [entry for entry in log[people[key].chat_id] if entry[0] == "reminder"]

    thai, myanmar, filipino = reminders_of("thai"), reminders_of("myanmar"), reminders_of("filipino")
    # Myanmar never answers: 30d, then 14d and 7d merged into one message on return, 3d, 1d, on the day.
    assert len(myanmar) == 5
    days_before = [round((deadline - when).total_seconds() / 86400, 1) for _, when, _ in myanmar]
    # Due at 23:59 Jakarta time, which is night in Yangon: it waits for 08:00 there.
    assert 29.5 < days_before[0] <= 30.0
    assert myanmar[1][1] == down[1]  # sent once, the moment the bot came back (08:30 in Yangon)
    assert 2.5 < days_before[2] <= 3.0 and 0.5 < days_before[3] <= 1.0 and 0.0 < days_before[4] <= 0.5
    assert all(8 <= hour < 21 for hour in _local_hours(myanmar, "Asia/Yangon"))
    assert all(when < deadline for _, when, _ in myanmar)
    assert "Myanmar" not in myanmar[0][2]["text"] and "days left" in myanmar[0][2]["text"]
    assert (
        "1 Purpose" in myanmar[0][2]["text"]
        and ["sec:" in b[1] for row in myanmar[0][2]["buttons"] for b in row].count(True) == 3
    )
    # Thailand answered on day 32: only the 30-day reminder reached it.
    assert len(thai) == 1
    # The Philippines muted on day 58: the 1-day and on-the-day reminders did not come.
    assert len(filipino) == 3 and all(when < OPEN + timedelta(days=58) for _, when, _ in filipino)
    assert all(8 <= hour < 21 for hour in _local_hours(filipino, "Asia/Manila"))

    chair = log[people["chair"].chat_id]
    summaries = [entry for entry in chair if entry[0] == "summary"]
    charts = [entry for entry in chair if entry[0] == "summary-chart"]
    assert len(summaries) == len(charts) >= 8
    labels = [plain(entry[2]["text"]).split("\n")[1] for entry in summaries]
    assert (
        "7 days before the deadline" in labels
        and "1 day before the deadline" in labels
        and "Deadline reached" in labels
    )
    assert sum("Weekly digest" in label for label in labels) >= 5
    final = plain(summaries[-1][2]["text"])
    assert (
        "1 of 3 Member States have responded" in final
        and "⏳ Myanmar — not yet" in final
        and "✅ Thailand — 1 comment(s)" in final
    )
    assert any(d and d.startswith("nudge:") for row in summaries[0][2]["buttons"] for _, d in row)
    officer = [entry for entry in log[people["officer"].chat_id] if entry[0] == "summary"]
    assert len(officer) == len(summaries)
    assert "all bodies" in plain(officer[-1][2]["text"])

    # Nothing is left queued or sent twice.
    db = Database(database_url)
    async with db.session() as session:
        keys = list(await session.scalars(select(Outbox.dedupe_key)))
        assert len(keys) == len(set(keys))
        statuses = set(await session.scalars(select(Outbox.status)))
        assert statuses <= {"sent", "superseded"}
    await db.dispose()
