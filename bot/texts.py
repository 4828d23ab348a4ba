"""Every text a user reads, in one place. Messages are Telegram HTML; anything that came from
a user or a document goes through `esc`."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.callbacks import CopyText
from bot.services import registry
from bot.services.errors import CsvRowErrors, Reason, ServiceError
from documents.draft import DraftError, Numbered, NumberingClash

if TYPE_CHECKING:
    # What the texts word; only their types are needed here.
    from bot.models import Clause, PlannedJob, Section
    from bot.services.answer_import import ImportPreview, RefusedRow
    from bot.services.answers import Answered, AnswerHistory, AnswerLine, Published, ToAnswer, WalkDone
    from bot.services.clearance import ClearanceChanged
    from bot.services.comments import DraftView, MyComment, Saved, SectionAnswer
    from bot.services.endorsements import Answered as Endorsed
    from bot.services.endorsements import Ballot
    from bot.services.endorsements import Tally as EndorsementTally
    from bot.services.outbox import Sending
    from bot.services.review import Cleared, DigestLine, Done, Merged, ReviewGroup, ReviewItem
    from bot.services.rounds import DraftFile, Opened, Outline, StageHistory
    from bot.services.status import AnswerCounts, BodyStatus, StateStatus, StatusReport, Tally
    from bot.services.word_comments import FileRead, Picked, SentFromFile

MESSAGE_LIMIT = 4096
# Room left for Telegram's own counting and the part header.
PART_BUDGET = 3800
MAX_CLAUSES_PER_PART = 40

KIND_NAMES = {"ge": "General", "te": "Technical", "ed": "Editorial"}


def esc(value: object) -> str:
    return html.escape(str(value if value is not None else ""), quote=False)


QUOTE_LIMIT = 60


def shorten(value: str, limit: int = QUOTE_LIMIT) -> str:
    """What someone typed, cut to a length a reply can quote."""
    value = "".join(ch if ch.isprintable() else " " for ch in value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """What someone typed, shortened and escaped, for quoting it back."""
    return esc(shorten(str(value if value is not None else ""), limit))


_TAG = re.compile(r"<[^>]*>")


def plain(text: str | None) -> str:
    """Telegram HTML as plain text (a button's pop-up, the command line)."""
    return html.unescape(_TAG.sub("", text or ""))


author_label = registry.author_label


def when(moment: datetime | None, tz: ZoneInfo | None = None) -> str:
    """A date as people read it, in their own time zone: "Fri 22 Jan 2027, 23:59 (UTC+7)"."""
    if moment is None:
        return "not set"
    tz = tz or ZoneInfo("UTC")
    local = moment.astimezone(tz)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    zone = "UTC" if minutes == 0 else f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone})"


def days_left(deadline: datetime | None, now: datetime | None = None) -> str:
    if deadline is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (deadline - now).total_seconds()
    if seconds <= 0:
        return "the deadline has passed"
    days = round(seconds / 86400)
    if seconds >= 1.5 * 86400:
        return f"{days} days left"
    hours = int(seconds // 3600)
    if hours >= 2:
        return f"{hours} hours left"
    return "less than two hours left"


# --- joining and help -----------------------------------------------------------------------------

ROLE_NAMES = {
    "delegate": "delegate",
    "chair": "chair",
    "secretariat": "Secretariat officer",
    "focal": "national focal point",
}


def welcome_unknown() -> str:
    return (
        "👋 This is <b>Clausebot</b>, which runs written consultations on draft documents.\n\n"
        "To take part you need a personal invite link from the Secretariat. "
        "Open that link (it starts this chat with your code) and you will be registered."
    )


def not_registered() -> str:
    return (
        "You are not registered yet. Please open the personal invite link the Secretariat sent you; "
        "if you have none, ask the Secretariat for one."
    )


def joined(name: str, role: str, label: str, consultations: Sequence[str]) -> str:
    lines = [f"✅ Welcome, {esc(name)}. You are registered as <b>{esc(ROLE_NAMES.get(role, role))}</b>"]
    if role != "secretariat":
        lines[0] += f" for <b>{esc(label)}</b>"
    lines[0] += "."
    if consultations:
        lines.append("")
        lines.append("Open consultations: " + ", ".join(esc(c) for c in consultations) + ".")
        if role == "focal":
            lines.append("You clear your state's comments before they go to the Secretariat: send /review.")
        elif role != "secretariat":
            lines.append("The sections for your body follow in the next messages.")
    lines.append("")
    lines.append("Send /help at any time to see what you can do.")
    return "\n".join(lines)


def already_joined(name: str) -> str:
    return f"You are already registered, {esc(name)}. Send /help to see what you can do."


def invite_unknown() -> str:
    return (
        "❌ This invite code is not valid. Check that you opened the whole link, or ask the Secretariat for a new one."
    )


def invite_used() -> str:
    return "❌ This invite link has already been used. Invite links work once; ask the Secretariat for a new one."


def invite_expired(at: datetime) -> str:
    return f"❌ This invite link expired on {when(at)}. Ask the Secretariat for a new one."


def already_registered(label: str, role: str) -> str:
    return (
        f"❌ This Telegram account is already registered as {esc(ROLE_NAMES.get(role, role))} "
        f"({esc(label)}). One account holds one registration; ask the Secretariat if this is wrong."
    )


HELP_DELEGATE = (
    "<b>How to comment</b>\n"
    "• Each section arrives as a message. Tap a clause number under it to comment on that clause, "
    "or <i>reply</i> to the message with your comment.\n"
    "• Or type <code>/comment 2.3.1 your comment</code>.\n"
    "• You choose the type (general, technical, editorial), write the comment, and may propose new wording.\n"
    "• Nothing to say on a section? Tap <b>No comments on this section</b>: it counts as your answer.\n\n"
    "<b>Commands</b>\n"
    "/sections – the sections sent to you\n"
    "/clause 2.3.1 – show one clause\n"
    "/comment 2.3.1 TEXT – comment on a clause\n"
    "/mycomments – your comments (edit or withdraw before the deadline)\n"
    "/draft – the draft as a Word file, to read offline\n"
    "/deadline – deadlines and time left\n"
    "/timezone – your time zone (reminders never come at night)\n"
    "/cancel – drop the comment you are writing\n\n"
    "• Work in Word? Send the draft back as a .docx with your Word comments and tracked changes: "
    "the bot reads them and asks before sending any.\n"
    "• At the endorsement stage you get a ballot: endorse, endorse with a reservation, or cannot endorse."
)

HELP_CHAIR = (
    "\n\n<b>For chairs</b>\n"
    "/status – who in your body has and has not responded\n"
    "/summary – the summary with its chart and a button to nudge non-responders\n"
    "/stage – the versions of the draft and the stages of the consultation"
)

HELP_SECRETARIAT = (
    "<b>Secretariat</b>\n"
    "• Send a Word draft (.docx) to import it; you will see the parsed outline to confirm.\n"
    "/consultations – all consultations and their state\n"
    "/invite ROLE BODY STATE [name] – an invite link (ROLE: delegate, chair, secretariat)\n"
    "/invite focal STATE [name] – an invite link for a Member State's national focal point\n"
    "/route CONSULTATION SECTION BODY [BODY…] – route a section to bodies (default: all to all)\n"
    "• Send a revised draft (.docx) and choose <b>New version of …</b> once a stage is closed.\n"
    "/open [CONSULTATION] [DAYS or YYYY-MM-DD] – open the round and circulate the sections\n"
    "/open final [all] DAYS – final comments on the new version (the changed clauses, or all)\n"
    "/open review BODY[,BODY] DAYS – a review by some bodies (e.g. SOMSWD's cross-sector review)\n"
    "/open endorsement [silence] [BODIES] DAYS – endorsement by every body (or those named)\n"
    "/stage [CONSULTATION] – versions and stages, the comparison of versions and the whole record\n"
    "/status [CONSULTATION] – responses per body and Member State\n"
    "/consolidate [CONSULTATION] – the consolidated Word draft with every comment\n"
    "/summary [CONSULTATION] – the cross-body summary with its chart\n"
    "/extend [CONSULTATION] DAYS|YYYY-MM-DD – move the deadline (everyone is told, with a calendar file)\n"
    "/reminders [CONSULTATION] [30d,14d,7d,3d,1d,0d] [everyone|nonresponders] – the reminder plan\n"
    "/latecomments [CONSULTATION] on|off – accept comments after the deadline (marked late)\n"
    "/clearance [CONSULTATION] off|advisory|required – clearance of each state's comments by its focal point\n"
    "/close [CONSULTATION] – close a round\n"
    "/answer [CONSULTATION] [section|body|state|ge|te|ed] – answer the comments one at a time\n"
    "/history [CONSULTATION] NUMBER – a comment's answer and every change of it, with a button to change it\n"
    "/publish [CONSULTATION] – tell each delegate the answers to their comments (changes go as a short update)\n"
    "/sections, /deadline – read the draft as delegates see it"
)


HELP_FOCAL = (
    "<b>National focal point</b>\n"
    "You speak for your Member State: what its delegates send goes out under the state's name once you clear it "
    "(where the consultation asks for clearance).\n"
    "/review – your state's comments waiting for clearance: clear, return with a note, edit, merge\n"
    "/comment 2.3.1 TEXT – the state's own comment on a clause (or 💬 under /clause); it needs no clearance\n"
    "/mycomments – the state's own comments: edit or withdraw\n"
    "/sections – the sections of the draft\n"
    "/draft – the draft as a Word file, to read offline\n"
    "/clause 2.3.1 – show one clause\n"
    "/deadline – deadlines and time left\n"
    "/timezone – your time zone (reminders never come at night)\n"
    "/cancel – drop the note or text you are writing\n\n"
    "• At the endorsement stage your ballot's answer speaks for every body of your Member State."
)


def help_for(role: str | None) -> str:
    if role is None:
        return welcome_unknown()
    if role == "secretariat":
        return HELP_SECRETARIAT
    if role == "focal":
        return HELP_FOCAL
    if role == "chair":
        return HELP_DELEGATE + HELP_CHAIR
    return HELP_DELEGATE


# Each command's line in the command menu Telegram shows; a role may word it differently.
MENU: dict[str, str | dict[str, str]] = {
    "status": {"chair": "Who has and has not responded", "secretariat": "Responses per body and Member State"},
    "consolidate": "Consolidated Word draft",
    "open": "Open a round or the next stage: /open [final|review BODY|endorsement] DAYS",
    "stage": "Versions and stages: what is open",
    "draft": "The draft as a Word file, to read offline",
    "invite": "Invite link: /invite ROLE BODY STATE",
    "consultations": "All consultations",
    "route": "Route sections to bodies",
    "extend": "Move a deadline",
    "reminders": "Reminder plan of a round",
    "latecomments": "Accept or refuse late comments",
    "clearance": "Clearance by focal points: off, advisory, required",
    "summary": {"chair": "Summary for your body", "secretariat": "Cross-body summary with chart"},
    "close": "Close a round",
    "answer": "Answer comments one at a time",
    "publish": "Tell delegates the answers to their comments",
    "history": "A comment's answer: its history, change it (TH-004)",
    "review": "Your state's comments waiting for clearance",
    "sections": {
        "delegate": "Sections sent to you",
        "chair": "Sections of the draft",
        "secretariat": "Read the draft",
        "focal": "Sections of the draft",
    },
    "mycomments": {
        "delegate": "Your comments: edit or withdraw",
        "chair": "Your comments",
        "focal": "The state's own comments",
    },
    "comment": {
        "delegate": "Comment on a clause: /comment 2.3.1 text",
        "focal": "The state's own comment: /comment 2.3.1 text",
    },
    "clause": "Show a clause: /clause 2.3.1",
    "deadline": {"delegate": "Deadlines and time left", "chair": "Deadlines and time left", "secretariat": "Deadlines"},
    "cancel": {"delegate": "Drop the comment you are writing", "focal": "Drop the note or text you are writing"},
    "timezone": "Your time zone for dates and reminders",
    "help": {
        "delegate": "How to take part",
        "chair": "What you can do",
        "secretariat": "What you can do",
        "focal": "What you can do",
    },
}


def menu_entry(command: str, role: str) -> str:
    entry = MENU.get(command, command)
    return entry if isinstance(entry, str) else entry.get(role, next(iter(entry.values())))


def secretariat_only(command: str) -> str:
    return f"⛔ /{esc(command)} is for the Secretariat only."


def chairs_only(command: str) -> str:
    return f"⛔ /{esc(command)} is for chairs and the Secretariat."


def delegates_only(command: str) -> str:
    return f"⛔ /{esc(command)} is for delegates; the Secretariat and chairs do not comment."


def private_only() -> str:
    return "Please talk to me in a private chat: consultations are handled one to one."


def unknown_command(command: str) -> str:
    return f"I don't know /{quote(command)}. Send /help to see the commands you can use."


def command_not_for_role(command: str, allowed: frozenset[str]) -> str:
    if allowed == {"secretariat"}:
        return secretariat_only(command)
    if "delegate" not in allowed and "chair" in allowed:
        return chairs_only(command)
    if allowed == {"focal"} or allowed == {"focal", "secretariat"}:
        return f"⛔ /{esc(command)} is for national focal points."
    return f"⛔ /{esc(command)} is not open to your role."


def not_for_role(role: str, allowed: Sequence[str]) -> str:
    names = {
        "secretariat": "the Secretariat",
        "chair": "chairs",
        "delegate": "delegates",
        "focal": "national focal points",
    }
    return "⛔ Only " + " and ".join(names.get(r, r) for r in allowed) + " can do that."


def no_comparison(name: str, number: int) -> str:
    return f"“{esc(name)}” has no v{number} to compare with the version before it."


def comparison_caption(title: str, old: str, new: str) -> str:
    return (
        f"🔀 <b>{esc(title)}</b>: {esc(new)} compared with {esc(old)}. Only the words that changed are struck "
        "and inserted; each changed clause names, in a Word comment, the answered comments that led to it."
    )


def export_caption(title: str, files: int) -> str:
    return (
        f"📦 The whole record of <b>{esc(title)}</b>: {files} files (every version, the comparisons, the "
        "consolidation, the endorsement records, and record.json with every comment, answer and endorsement). "
        "README.txt in the zip says what each file is."
    )


def export_working() -> str:
    return "Putting the record together…"


def export_too_big(size_mb: float) -> str:
    return (
        f"The record is {size_mb:.0f} MB, more than Telegram lets a bot send. Export it at the command line: "
        "<code>clausebot export NAME --out FILE.zip</code>."
    )


def no_draft(name: str) -> str:
    return f"The consultation {esc(name)} has no draft uploaded yet."


def sent_ack() -> str:
    return "Sent"


def withdrawn_ack() -> str:
    return "Withdrawn"


def recorded_ack() -> str:
    return "Recorded"


def nudged_ack() -> str:
    return "Nudged"


def button_unknown() -> str:
    return "This button is out of date or not one of mine. Send /help to see what you can do."


def button_not_for_role() -> str:
    return "⛔ This button is not for your role."


def only_text(is_secretariat: bool) -> str:
    if is_secretariat:
        return "I read text messages, commands and Word drafts (.docx). Send /help to see what you can do."
    return (
        "I can only read text. To comment, tap a clause number under a section, reply to a section "
        "message with your text, or send <code>/comment 2.3.1 your text</code>."
    )


def hint_free_text() -> str:
    return (
        "To comment, tap a clause number under a section, reply to a section message, "
        "or send <code>/comment 2.3.1 your text</code>. /help lists everything."
    )


# --- registry -----------------------------------------------------------------------------------


def bad_body_code(code: str) -> str:
    return f"“{esc(code)}” is not a valid body code: use letters and digits, like SOMHD."


def bad_state(name: str, code: str) -> str:
    return f"A Member State needs a name and a two- or three-letter code (got “{esc(name)}”, “{esc(code)}”)."


def bad_timezone(tz: str) -> str:
    return f"“{esc(tz)}” is not a time zone name; use one like Asia/Bangkok."


def unknown_body(code: str, known: Sequence[str]) -> str:
    hint = f" Known bodies: {', '.join(known)}." if known else " No bodies are registered yet."
    return f"There is no body “{esc(code)}”.{esc(hint)}"


def unknown_state(name: str, known: Sequence[str]) -> str:
    hint = f" Known Member States: {', '.join(known)}." if known else " No Member States are registered yet."
    return f"There is no Member State “{esc(name)}”.{esc(hint)}"


def bad_role(role: str) -> str:
    return f"“{esc(role)}” is not a role: use delegate, chair, secretariat or focal."


def invite_needs_body_and_state(role: str) -> str:
    if role == "chair":
        return "A chair's invite needs the body they chair."
    if role == "focal":
        return "A focal point's invite needs their Member State: <code>/invite focal Thailand [name]</code>."
    return "A delegate's invite needs a body and a Member State."


def focal_has_no_body(body: str, state: str) -> str:
    return (
        f"A focal point speaks for {esc(state)} across all its bodies, so their invite names no body "
        f"(got {esc(body)}): leave the body out."
    )


def bad_email(email: str) -> str:
    return f"“{esc(email)}” is not an e-mail address."


def csv_empty() -> str:
    return "the file has no rows; expected the columns name, role, body, state, email"


def csv_missing_columns(missing: Sequence[str]) -> str:
    return f"missing column(s): {', '.join(missing)} (expected name, role, body, state, email)"


def invite_created(link: str, role: str, label: str, name: str, expires: datetime, tz: ZoneInfo) -> str:
    who = f"{esc(name)}, " if name else ""
    return (
        f"🔗 Invite for {who}{esc(ROLE_NAMES.get(role, role))} ({esc(label)}), "
        f"single use, valid until {when(expires, tz)}:\n{esc(link)}"
    )


def invite_usage() -> str:
    return (
        "Usage: <code>/invite ROLE BODY STATE [name]</code>, e.g. <code>/invite delegate SOMHD Thailand Somchai</code>. "
        "For a national focal point: <code>/invite focal Thailand [name]</code>; "
        "for a Secretariat officer: <code>/invite secretariat</code>."
    )


def no_bot_username() -> str:
    return (
        "The bot's username is not known yet: start the bot once with its token (clausebot run), or set BOT_USERNAME."
    )


# --- consultations and drafts ------------------------------------------------------------------------


def unknown_consultation(name: str, known: Sequence[str]) -> str:
    hint = f" Consultations: {', '.join(known)}." if known else ""
    return f"There is no consultation “{esc(name)}”.{esc(hint)}"


def no_consultations(is_secretariat: bool) -> str:
    if is_secretariat:
        return "There is no consultation yet. Send a Word draft (.docx) to start one."
    return "There is no open consultation for your body at the moment."


def which_consultation(names: Sequence[str]) -> str:
    # Whatever their state: drafts and closed rounds are named as well as open ones.
    return "There are several consultations (" + ", ".join(f"<code>{esc(n)}</code>" for n in names) + "); name one."


def consultation_exists(name: str) -> str:
    return f"A consultation named “{esc(name)}” already exists; choose another name."


def cannot_replace_open(name: str) -> str:
    return (
        f"The draft of “{esc(name)}” cannot be replaced: its round has been opened. Once the round is closed, "
        f"send the revised draft as a new version of “{esc(name)}”."
    )


def stage_still_open(name: str, kind: str) -> str:
    return (
        f"“{esc(name)}” cannot take a new version while its {esc(STAGE_NAMES.get(kind, kind))} stage is open. "
        f"Close it first with /close {esc(name)}, then send the new version."
    )


# What each kind of stage is called in messages (bot.models.StageKind).
STAGE_NAMES = {
    "comments": "comments",
    "final": "final comments",
    "review": "review",
    "endorsement": "endorsement",
}


def upload_gone() -> str:
    return "That upload is no longer waiting for confirmation. Send the file again."


def outline(o: Outline, *, heading: str = "📑 Parsed outline") -> str:
    lines = [f"{heading}: <b>{esc(o.title)}</b>"]
    if o.consultation:
        lines.append(f"Consultation: <code>{esc(o.consultation)}</code>")
    lines.append(f"{len(o.sections)} sections, {o.clause_count} clauses:")
    for ref, title, count in o.sections[:60]:
        lines.append(f"• {esc(ref)} {esc(title)} — {count} clause{'s' if count != 1 else ''}")
    if len(o.sections) > 60:
        lines.append(f"… and {len(o.sections) - 60} more sections")
    return "\n".join(lines)


def upload_confirm_prompt(can_be_version: bool = False) -> str:
    text = "Is this structure right? Confirm to store it, or cancel and fix the document's headings and numbering."
    if can_be_version:
        text += " A revised draft of a consultation whose stage is closed is stored as its new version."
    return text


MAPPING_KINDS = {
    "unchanged": "unchanged",
    "changed": "changed",
    "renumbered": "renumbered",
    "moved": "moved",
    "new": "new",
    "deleted": "deleted",
}
# Doubtful matches listed in the message; the rest are counted.
DOUBTFUL_SHOWN = 15


def _match_line(new: str | None, old: str | None, kind: str) -> str:
    if new and old:
        return f"{esc(new)} ← {esc(old)} ({esc(MAPPING_KINDS.get(kind, kind))})"
    if new:
        return f"{esc(new)} new"
    return f"{esc(old or '')} deleted"


def version_preview(o: Outline, *, at_command_line: bool = False) -> str:
    """A new version mapped to the last one, not stored yet: the doubtful matches to check,
    the corrections made, and how to make more."""
    assert o.mapping is not None
    m = o.mapping
    counts = ", ".join(f"{n} {MAPPING_KINDS.get(kind, kind)}" for kind, n in m.counts.items())
    lines = [
        f"🔎 <b>{esc(m.version)}</b> of {esc(o.consultation)}, not stored yet.",
        f"Its clauses against {esc(m.previous)}: {esc(counts)}.",
    ]
    if m.corrections:
        lines.append("\nYour corrections: " + "; ".join(_match_line(n, p, "corrected") for n, p in m.corrections))
    if m.doubtful:
        lines.append(f"\n⚠️ {len(m.doubtful)} match(es) to check, least sure first:")
        for new, old, kind, confidence in m.doubtful[:DOUBTFUL_SHOWN]:
            lines.append(f"• {_match_line(new, old, kind)}, {round(confidence * 100)}% sure")
        if len(m.doubtful) > DOUBTFUL_SHOWN:
            lines.append(f"… and {len(m.doubtful) - DOUBTFUL_SHOWN} more")
    else:
        lines.append("\nNo match left to check.")
    if at_command_line:
        lines.append(
            "\nTo correct a match, add <code>--match '4.2 = 4.1'</code> (new 4.2 comes from old 4.1), "
            "<code>--match '4.3 new'</code> or <code>--match '2.2 deleted'</code>, and run it again without --dry-run."
        )
    else:
        lines.append(
            "\nTo correct a match, send it as a message, one per line: <code>4.2 = 4.1</code> (new 4.2 comes from "
            f"old 4.1), <code>4.3 new</code>, <code>2.2 deleted</code> (old 2.2 is gone). Then store it as {esc(m.version)}."
        )
    return "\n".join(lines)


def bad_correction(side: str, ref: str) -> str:
    example = "<code>4.2 = 4.1</code>, <code>4.3 new</code> or <code>2.2 deleted</code>"
    if side == "new":
        return f"The new version has no clause “{esc(ref)}”. Nothing was changed; corrections read like {example}."
    if side == "old":
        return f"The last version has no clause “{esc(ref)}”. Nothing was changed; corrections read like {example}."
    if ref:
        return f"“{esc(ref)}” is not a correction I can read. Nothing was changed; write {example}, one per line."
    return f"Nothing to correct was found. Write {example}, one per line."


def upload_stored(o: Outline) -> str:
    if o.mapping is None:
        return (
            outline(o, heading="✅ Draft stored")
            + f"\n\nNext: route sections if not every body gets every section (/route), then /open {esc(o.consultation)}."
        )
    m = o.mapping
    counts = ", ".join(f"{n} {MAPPING_KINDS.get(kind, kind)}" for kind, n in m.counts.items())
    lines = [
        f"✅ Stored as <b>{esc(m.version)}</b> of {esc(o.consultation)}.",
        f"Its clauses against {esc(m.previous)}: {esc(counts)}.",
    ]
    if m.doubtful:
        lines.append(f"\n⚠️ {len(m.doubtful)} match(es) to check, least sure first:")
        for new, old, kind, confidence in m.doubtful[:DOUBTFUL_SHOWN]:
            if new and old:
                what = f"{esc(new)} ← {esc(old)} ({esc(MAPPING_KINDS.get(kind, kind))})"
            elif new:
                what = f"{esc(new)} new"
            else:
                what = f"{esc(old or '')} deleted"
            lines.append(f"• {what}, {round(confidence * 100)}% sure")
        if len(m.doubtful) > DOUBTFUL_SHOWN:
            lines.append(f"… and {len(m.doubtful) - DOUBTFUL_SHOWN} more")
    lines.append(
        f"\nNext: <code>/open {esc(o.consultation)} final 14</code> circulates the changed clauses for final comments "
        f"(<code>final all</code>: every clause); <code>/open {esc(o.consultation)} review SOMSWD 21</code> sends it "
        "to one body for review."
    )
    return "\n".join(lines)


def earlier_version(title: str) -> str:
    return (
        f"🔒 This is from an earlier version of “{esc(title)}”, whose stage is over: comments on it are no longer "
        "accepted. Send /sections for the version circulated now."
    )


def _refs_list(refs: Sequence[str], limit: int = 12) -> str:
    shown = [esc(r) for r in refs[:limit]]
    if len(refs) > limit:
        shown.append(f"{len(refs) - limit} more")
    if len(shown) > 1:
        return ", ".join(shown[:-1]) + " and " + shown[-1]
    return shown[0] if shown else ""


UNPLACED_NAMES = {
    "on a heading": "on a heading",
    "not in the draft": "on text that is not in the draft",
    "in a table": "in a table",
    "no anchor": "with nothing it is anchored on",
}


def file_read(r: FileRead) -> str:
    s = r.summary
    if not (s.comments or s.proposals or s.unplaced_comments or s.unplaced_changes or s.edited_by_hand):
        return (
            f"📎 This copy of <b>{esc(r.title)}</b> has no Word comments and no tracked changes, so there is "
            "nothing to send. Add your comments in Word (Review → New Comment, or Track Changes for new wording) and "
            "send it again, or comment clause by clause here. Nothing was recorded."
        )
    lines = [f"📎 Your Word file, read against <b>{esc(r.title)}</b>:"]
    if s.comments:
        lines.append(f"• {s.comments} comment(s) on {_refs_list(s.comment_refs)}")
    if s.proposals:
        lines.append(f"• {s.proposals} proposed change(s) on {_refs_list(s.proposal_refs)}")
    unplaced = s.unplaced_comments + s.unplaced_changes
    if unplaced:
        why = "; ".join(f"{n} {UNPLACED_NAMES.get(reason.value, reason.value)}" for reason, n in s.unplaced_reasons)
        lines.append(f"• {unplaced} it could not place on a clause ({esc(why)}): send those with /comment")
    if r.not_routed:
        lines.append(f"• on {_refs_list(r.not_routed)}, which your body is not asked about: left out")
    if s.edited_by_hand:
        lines.append(
            f"• {_refs_list(s.edited_by_hand)} edited without tracked changes: not read as proposals "
            "(turn on Track Changes in Word to propose wording)"
        )
    if r.chosen:
        lines.append(f"Read for: {esc(', '.join(r.chosen))}.")
    if r.items:
        lines.append(
            f"\nThey would become <b>{len(r.items)}</b> comment(s) of yours, each with the proposed wording of its "
            "clause where there is one. Choose their type to send them all, or choose which to send and each one's "
            "type (you can change each afterwards in /mycomments), or cancel."
        )
    else:
        lines.append("\nNothing in it can be sent as a comment on the clauses you are asked about.")
    return "\n".join(lines)


def file_pick(p: Picked) -> str:
    """The comments of a Word file, numbered, to pick from."""
    kinds = {"ge": "general", "te": "technical", "ed": "editorial", "skip": "not sent"}
    lines = [f"🗂 The comments of your Word file on <b>{esc(p.read.title)}</b>:"]
    for index, (item, choice) in enumerate(zip(p.read.items, p.choices, strict=True)):
        said = item.text or "(a proposed change alone)"
        wording = " + proposed wording" if item.proposed else ""
        lines.append(
            f"{index + 1}. <b>{esc(item.ref)}</b> “{esc(shorten(said, 70))}”{wording}: {kinds.get(choice, choice)}"
        )
    lines.append(
        "\nTap a comment's button to change its type (technical → editorial → not sent → general), then send "
        "the ones chosen."
    )
    return "\n".join(lines)


def nothing_picked() -> str:
    return "Every comment is set to “not sent”: choose a type for at least one, or cancel."


def too_many_to_pick(count: int, limit: int) -> str:
    return (
        f"The file has {count} comments: picking them one by one works for up to {limit}. Send them all with one "
        "type and change or withdraw some in /mycomments, or split the file."
    )


def file_whose(r: FileRead) -> str:
    return (
        f"📎 This Word file holds comments or changes by {len(r.authors)} people: "
        f"{esc(', '.join(r.authors[:6]))}. Whose are to be sent as yours?"
    )


FILE_PROPOSAL_TEXT = "Proposed wording, from my tracked changes in the draft."


def file_sent(s: SentFromFile) -> str:
    late = " They are marked late (after the deadline)." if s.late else ""
    if not s.count:
        return "These comments were already recorded."
    return (
        f"✅ {s.count} comment(s) recorded on <b>{esc(s.title)}</b>, on {_refs_list(s.refs)}.{late} "
        "See, edit or withdraw them with /mycomments."
    )


def file_cancelled() -> str:
    return "The Word file was dropped; nothing was recorded."


WORD_FILE_REFUSALS = {
    "not a docx": "This file is not a Word document (.docx). Save it as .docx in Word and send it again.",
    "old word format": "This is an old Word file (.doc). Save it as .docx (Word document) and send it again.",
    "password protected": "This file is protected by a password. Remove the password, save it and send it again.",
    "macro enabled": (
        "This file contains macros (.docm), which the bot does not open. Save it as a plain .docx and send it again."
    ),
    "too large": "This file is too large to read. Send the draft with your comments only, without pictures.",
    "damaged": "This file seems damaged: Word could not have saved it so. Open it in Word, save it, and send it again.",
}


def word_file_refused(refusal: str, **data: object) -> str:
    if refusal == "too many comments":
        return (
            f"This file has {data.get('found')} comments; at most {data.get('limit')} are read at once. "
            "Split them over two copies of the draft and send each."
        )
    if refusal == "not this draft":
        return (
            "This file does not look like a commented copy of the draft being consulted on "
            f"(only {round(float(str(data.get('share', 0))) * 100)}% of it is in the draft). Send the draft you "
            "received, with your Word comments or tracked changes in it. Nothing was recorded."
        )
    return WORD_FILE_REFUSALS.get(refusal, "This file cannot be read.") + " Nothing was recorded."


def no_round_for_file() -> str:
    return (
        "No consultation is open for comments now, so the file was not read. "
        "You will receive the sections when the next round opens."
    )


def nothing_in_file() -> str:
    return "Nothing in this file can be sent as a comment on the clauses you are asked about. Nothing was recorded."


def draft_caption(d: DraftFile) -> str:
    return (
        f"📄 {esc(d.title)}, {esc(d.version)}, as circulated. To comment, tap a clause under its section, "
        "or send this file back with your Word comments and tracked changes."
    )


def version_identical(name: str, version: str) -> str:
    return (
        f"This draft is the same, clause for clause, as {esc(version)} of “{esc(name)}”: nothing was stored. "
        "Send the revised draft."
    )


def version_unrelated(name: str, version: str) -> str:
    return (
        f"This draft has no clause in common with {esc(version)} of “{esc(name)}”, so it was not stored as its "
        "new version. If it is another draft, send it again and store it as a new consultation."
    )


def upload_cancelled() -> str:
    return "Upload discarded; nothing was stored."


def upload_not_docx(filename: str) -> str:
    return f"“{esc(filename)}” is not a Word document. Please send the draft as a .docx file."


def upload_too_large(size: int, limit: int) -> str:
    return f"The file is {size / 1048576:.1f} MB; the limit is {limit / 1048576:.0f} MB. Nothing was stored."


def upload_only_secretariat() -> str:
    return (
        "Only the Secretariat uploads drafts and comment matrices, and delegates their copy of the draft with Word "
        "comments. To comment, tap a clause under a section or use /comment."
    )


def draft_rejected(reason: str) -> str:
    return f"❌ {esc(reason)}\nNothing was stored."


def _numbered(part: Numbered, ref: str) -> str:
    if part.kind == "heading":
        return (
            f"the heading {part.number} \u201c{part.text}\u201d"
            if part.number
            else (f"the heading \u201c{part.text}\u201d (counted as {ref})")
        )
    what = f"clause {part.number}" if part.number else "an unnumbered paragraph"
    where = f" of section {part.section}" if part.section else ""
    return f"{what}{where} (\u201c{part.text}\u201d)"


def draft_problem(error: DraftError) -> str:
    """Why an uploaded draft cannot be used, in plain text (for chat, through `draft_rejected`)."""
    if not isinstance(error, NumberingClash):
        return str(error)
    shown = error.clashes[:8]
    lines = [
        "The draft numbers two parts the same way, so a comment on one could not be told from a comment on the other:"
    ]
    lines += [f"\u2022 {c.ref}: {_numbered(c.first, c.ref)} and {_numbered(c.second, c.ref)}" for c in shown]
    if len(error.clashes) > len(shown):
        lines.append(f"\u2026 and {len(error.clashes) - len(shown)} more.")
    lines.append(
        "Each heading and clause needs a number of its own, as readers quote it. Please correct "
        "the numbering in Word (its automatic numbering, or the numbers typed at the start of "
        "paragraphs) and upload the draft again."
    )
    return "\n".join(lines)


def consultations_list(rows: Sequence[tuple[str, str, str, datetime | None]], tz: ZoneInfo) -> str:
    if not rows:
        return no_consultations(True)
    lines = ["<b>Consultations</b>"]
    for name, title, status, deadline in rows:
        due = f", deadline {when(deadline, tz)}" if deadline else ""
        lines.append(f"• <code>{esc(name)}</code> — {esc(title)} ({esc(status)}{due})")
    return "\n".join(lines)


# --- routing and opening -----------------------------------------------------------------------------


def unknown_sections(missing: Sequence[str], known: Sequence[str]) -> str:
    return f"No section {', '.join(esc(m) for m in missing)}. Sections: {esc(', '.join(known))}."


def route_needs_bodies() -> str:
    return "Name at least one body to route to."


def route_usage() -> str:
    return "Usage: <code>/route CONSULTATION SECTION BODY [BODY…]</code> (SECTION may be <code>all</code>)."


def routing(name: str, table: Sequence[tuple[str, Sequence[str]]]) -> str:
    lines = [f"<b>Routing of {esc(name)}</b>"]
    for ref, bodies in table:
        lines.append(f"• {esc(ref)}: {esc(', '.join(bodies) or 'no body')}")
    return "\n".join(lines)


def bad_deadline(value: str) -> str:
    return f"“{esc(value)}” is not a date. Use YYYY-MM-DD or an ISO date-time like 2027-01-22T17:00+07:00."


def bad_days(days: object) -> str:
    return f"“{esc(days)}” is not a number of days between 1 and 3650."


def deadline_in_past(moment: datetime) -> str:
    return f"The deadline {when(moment)} is already past."


def already_open(name: str, deadline: datetime | None) -> str:
    return f"The round of “{esc(name)}” is already open (deadline {when(deadline)})."


def round_closed_already(name: str, kind: str = "comments") -> str:
    return (
        f"The {esc(STAGE_NAMES.get(kind, kind))} stage of “{esc(name)}” is closed. To go on, send the revised "
        f"draft as a new version, or open the next stage with its kind: <code>/open {esc(name)} final 14</code>, "
        f"<code>/open {esc(name)} review SOMSWD 21</code>."
    )


def stage_history(h: StageHistory, tz: ZoneInfo) -> str:
    lines = [f"🗂 <b>{esc(h.title)}</b> ({esc(h.name)})", "", "<b>Versions</b>"]
    lines += [f"• {esc(label)}: {esc(filename)}, uploaded {when(at, tz)}" for label, filename, at in h.versions]
    lines += ["", "<b>Stages</b>"]
    for s in h.stages:
        name = STAGE_NAMES.get(s.kind, s.kind).capitalize()
        where = f" to {esc(', '.join(s.bodies))}" if s.bodies else ""
        scope = ", changed clauses only" if s.only_changed else ""
        if s.status == "open":
            state = f"🟢 open until {when(s.deadline, tz)}"
        elif s.status == "closed":
            state = f"closed {when(s.closed_at, tz)}" if s.closed_at else "closed"
        else:
            state = "prepared, not yet open (<code>/open</code>)"
        comments = f"; {s.comments} comment(s)" if s.status != "draft" else ""
        lines.append(f"{s.position}. {esc(name)} on {esc(s.version)}{where}{scope}: {state}{comments}")
    return "\n".join(lines)


def review_needs_bodies() -> str:
    return (
        "A review goes to one or a few bodies: name them, e.g. <code>/open review SOMSWD 21</code> "
        "(several: <code>/open review SOMSWD,SLOM 21</code>)."
    )


def nothing_to_circulate() -> str:
    return "This consultation has no sections to circulate."


def not_open(name: str) -> str:
    return f"The round of “{esc(name)}” is not open."


def _routed_to(bodies: Sequence[str]) -> str:
    return f" of {esc(', '.join(sorted(bodies)))} only" if bodies else ""


def opened(o: Opened, tz: ZoneInfo) -> str:
    stage = "round" if o.position == 1 else f"{STAGE_NAMES.get(o.kind, o.kind)} stage (stage {o.position}, {o.version})"
    text = (
        f"📣 The {esc(stage)} of <b>{esc(o.title)}</b> is open until {when(o.deadline, tz)}.\n"
        f"Circulating to {o.contacts} registered contact(s){_routed_to(o.bodies)}: {o.messages_queued} message(s) queued. "
        "Contacts who join later receive their sections when they join."
    )
    if o.changed_clauses is not None:
        text += f"\nOnly the {o.changed_clauses} clause(s) changed since the last version are circulated."
    if o.without_focal:
        text += "\n\n" + without_focal_warning(o.without_focal)
    return text


def without_focal_warning(states: Sequence[str]) -> str:
    return (
        f"⚠️ Clearance is required, but no focal point has joined for {esc(', '.join(states))}: "
        "their delegates' comments cannot be cleared and will not reach you. "
        "Invite one with <code>/invite focal STATE [name]</code>, or set <code>/clearance advisory</code>."
    )


CLEARANCE_MODES = {
    "off": "off (every comment reaches the Secretariat as it is sent)",
    "advisory": "advisory (every comment counts; whether its state's focal point cleared it is shown)",
    "required": "required (a comment reaches the Secretariat only once its state's focal point clears it)",
}


def bad_clearance(value: str) -> str:
    return f"“{esc(value)}” is not a clearance setting: use off, advisory or required."


def clearance_shown(title: str, mode: str) -> str:
    return (
        f"🛂 Clearance by the national focal points for <b>{esc(title)}</b>: {CLEARANCE_MODES.get(mode, mode)}.\n"
        "Change it with <code>/clearance [CONSULTATION] off|advisory|required</code>."
    )


def clearance_changed(c: ClearanceChanged) -> str:
    lines = [f"🛂 Clearance by the national focal points for <b>{esc(c.title)}</b>: {CLEARANCE_MODES[c.after]}."]
    pending = c.waiting + c.returned
    if c.before == c.after:
        lines[0] = lines[0].replace("🛂 Clearance", "🛂 Clearance is already", 1)
    elif c.before == "required" and pending:
        parts = [f"{c.waiting} waiting for clearance"] if c.waiting else []
        parts += [f"{c.returned} returned to their delegates"] if c.returned else []
        lines.append(
            f"{_count(pending, 'comment')} not cleared ({', '.join(parts)}) now count at once as they stand: "
            "in /status, the matrix and the consolidated draft."
        )
    elif c.after == "required" and pending:
        lines.append(
            f"{_count(pending, 'comment')} not yet cleared no longer count until their focal point clears them."
        )
    if c.without_focal:
        lines.append("")
        lines.append(without_focal_warning(c.without_focal))
    return "\n".join(lines)


def closed(name: str) -> str:
    return f"🔒 The round of “{esc(name)}” is closed. Comments are no longer accepted."


def open_usage() -> str:
    return "Usage: <code>/open [CONSULTATION] [DAYS or YYYY-MM-DD]</code> (default 60 days)."


# --- circulation ----------------------------------------------------------------------------------------


def circulation_intro(
    title: str,
    deadline: datetime | None,
    tz: ZoneInfo,
    sections: int,
    *,
    kind: str = "comments",
    version: str = "v0",
    changed: int | None = None,
) -> str:
    plural = "s" if sections != 1 else ""
    if kind == "final" and changed is not None:
        ask = (
            f"<b>Final comments</b> on {version} of this draft: the {changed} clause{'s' if changed != 1 else ''} "
            f"changed since the last version, in {sections} section{plural}, each shown with what it said before."
        )
    elif kind == "final":
        ask = f"<b>Final comments</b> on {version} of this draft: {sections} section{plural}."
    elif kind == "review":
        ask = f"Your body is asked to <b>review</b> {version} of this draft: {sections} section{plural}."
    else:
        ask = f"You are asked to comment on {sections} section{plural} of this draft."
    return (
        f"📨 <b>{esc(title)}</b>\n"
        f"{ask} Comments are due by <b>{when(deadline, tz)}</b>.\n\n"
        "Tap a clause number under a section to comment on it, or reply to the section's message. "
        "If you have nothing to say on a section, tap <b>No comments on this section</b>."
    )


CHANGE_MARKS = {"changed": "✏️ changed", "moved": "↕️ moved", "new": "🆕 new"}
# How much of a clause's earlier text is shown under it: the message stays readable on a phone.
WAS_LIMIT = 400


def _clause_block(clause: Clause, change: tuple[str, str | None] | None = None) -> str:
    text = esc(clause.text)
    block = f"<b>{esc(clause.ref)}</b> {text}"
    if change is not None:
        how, before = change
        block += f"\n<i>{CHANGE_MARKS.get(how, how)}</i>"
        if before is not None and before != clause.text:
            block += f" <i>– it said:</i> <s>{esc(shorten(before, WAS_LIMIT))}</s>"
    return block


def _split_long(text: str, size: int) -> list[str]:
    pieces, rest = [], text
    while len(rest) > size:
        cut = rest.rfind(" ", 0, size)
        if cut < size // 2:
            cut = size
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return pieces


def section_parts(
    title: str,
    section: Section,
    clauses: Sequence[Clause],
    *,
    changes: Mapping[str, tuple[str, str | None]] | None = None,
) -> list[tuple[str, list[int]]]:
    """A section as one or more messages under Telegram's limit, split between clauses; with
    `changes` (final comments), each clause says how it changed since the last version."""
    head = f"<b>{esc(section.ref)} {esc(section.heading)}</b>"
    budget = PART_BUDGET - len(esc(title)) - len(head) - 40
    blocks: list[tuple[str, int]] = []
    for clause in clauses:
        block = _clause_block(clause, changes.get(clause.ref) if changes else None)
        if len(block) <= budget:
            blocks.append((block, clause.id))
            continue
        for index, piece in enumerate(_split_long(clause.text, budget - 60)):
            label = f"<b>{esc(clause.ref)}</b>" + (" (continued)" if index else "")
            blocks.append((f"{label} {esc(piece)}", clause.id))
    parts: list[list[tuple[str, int]]] = [[]]
    size = 0
    for block, clause_id in blocks:
        current = parts[-1]
        distinct = {cid for _, cid in current}
        if current and (
            size + len(block) + 2 > budget or (clause_id not in distinct and len(distinct) >= MAX_CLAUSES_PER_PART)
        ):
            parts.append([])
            size = 0
        parts[-1].append((block, clause_id))
        size += len(block) + 2
    if not clauses:
        parts = [[]]
    result = []
    total = len(parts)
    for index, part in enumerate(parts):
        counter = f" (part {index + 1} of {total})" if total > 1 else ""
        body = "\n\n".join(b for b, _ in part) or "<i>This section has no clauses.</i>"
        text = f"<i>{esc(title)}</i>\n{head}{counter}\n\n{body}"
        ids: list[int] = []
        for _, cid in part:
            if cid not in ids:
                ids.append(cid)
        result.append((text, ids))
    return result


def sections_list(title: str, deadline: datetime | None, tz: ZoneInfo) -> str:
    lines = [f"📚 <b>{esc(title)}</b>", f"Deadline: {when(deadline, tz)}" if deadline else "Not yet open."]
    lines.append("Tap a section to read it and comment:")
    return "\n".join(lines)


def section_button_label(ref: str, heading: str, answered: bool = False) -> str:
    mark = "✅ " if answered else ""
    label = f"{mark}{ref} {heading}"
    return label if len(label) <= 60 else label[:57] + "…"


def clause_view(title: str, section_ref: str, heading: str, clause: Clause) -> str:
    return f"<i>{esc(title)}</i>\n<b>{esc(section_ref)} {esc(heading)}</b>\n\n{_clause_block(clause)}"


def clause_usage() -> str:
    return "Usage: <code>/clause 2.3.1</code>"


# --- commenting ---------------------------------------------------------------------------------------


def unknown_clause(ref: str, consultation: str, suggestions: Sequence[str]) -> str:
    text = f"There is no clause “{esc(ref)}” in {esc(consultation)}."
    if suggestions:
        text += " Did you mean: " + ", ".join(f"<code>{esc(s)}</code>" for s in suggestions) + "?"
    else:
        text += " Send /sections to see the sections and their clauses."
    return text


def comment_usage() -> str:
    return (
        "Usage: <code>/comment 2.3.1 your comment</code>. "
        "You can also tap a clause number under a section, or reply to a section message."
    )


def empty_text() -> str:
    return "That message has no text to use. Please write your comment as text."


def text_too_long(length: int, limit: int) -> str:
    return (
        f"That text is {length} characters long; the limit is {limit}. Please shorten it or split it into two comments."
    )


def clause_gone() -> str:
    return "That clause is no longer in the draft."


def section_gone() -> str:
    return "That section is no longer in the draft."


def round_not_open(title: str) -> str:
    return f"The round on “{esc(title)}” has not been opened yet; comments are not accepted."


def round_closed(title: str, deadline: datetime | None) -> str:
    return (
        f"🔒 The round on “{esc(title)}” closed on {when(deadline)}. Comments are no longer accepted; "
        "please contact the Secretariat if you need to add something."
    )


def only_delegates_comment() -> str:
    return "Only delegates of a body and Member State comment; the Secretariat and cross-sector chairs do not."


def clause_not_routed(ref: str) -> str:
    return f"{esc(ref)} is not among the sections sent to your body."


def no_comment_in_progress() -> str:
    return "You are not writing a comment right now. Tap a clause number under a section to start one."


def bad_kind(kind: str) -> str:
    return f"“{esc(kind)}” is not a comment type."


def comment_incomplete() -> str:
    return "The comment is not complete yet: it needs a type and a text."


def comment_gone() -> str:
    return "That comment no longer exists or was withdrawn."


def already_recorded() -> str:
    return "This comment was already recorded."


def ask_kind(view: DraftView) -> str:
    return (
        f"💬 Comment on <b>{esc(view.clause_ref)}</b>\n<blockquote>{esc(_short(view.clause_text, 600))}</blockquote>\n"
        "What type of comment is it?\n"
        "• <b>General</b> – on the substance or approach\n"
        "• <b>Technical</b> – on facts, terms, feasibility\n"
        "• <b>Editorial</b> – on wording, grammar, style"
    )


def ask_pick(clause_refs: Sequence[str]) -> str:
    return "This message holds several clauses. Which one is your comment about?"


def ask_text(view: DraftView) -> str:
    return f"✍️ Write your {KIND_NAMES.get(view.kind or '', '').lower()} comment on <b>{esc(view.clause_ref)}</b> as one message."


# A clause longer than this is not repeated in the prompt (a message holds 4,096 characters).
PROPOSAL_BLOCK_LIMIT = 3500


def ask_proposed(view: DraftView) -> str:
    """Asks for the whole clause as the delegate wants it, starting from its current text:
    a short clause is copied with the button below, a longer one is shown in a block that
    copies with one tap."""
    ask = (
        f"📝 Would you like to propose new wording for <b>{esc(view.clause_ref)}</b>? "
        "Send <b>the whole clause</b> as you want it to read, not only the words you change: "
        "only the changes will show in the draft. Or tap <b>Skip</b>."
    )
    current = view.clause_text.strip()
    if not current:
        return ask
    if CopyText.fits(current):
        return f"{ask}\n\nTap <b>📋 Copy the clause</b> to start from its current text."
    if len(current) > PROPOSAL_BLOCK_LIMIT:
        return f"{ask}\n\nThe clause is too long to repeat here: copy it from the section message."
    return f"{ask}\n\nTap the text below to copy it, then change it and send it:\n<code>{esc(current)}</code>"


def _short(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def preview(view: DraftView) -> str:
    head = "✏️ Editing your comment" if view.editing else "🔎 Please check your comment"
    lines = [
        f"{head} on <b>{esc(view.clause_ref)}</b> ({esc(view.consultation_title)})",
        f"Type: <b>{KIND_NAMES.get(view.kind or '', '—')}</b>",
        f"Comment:\n<blockquote>{esc(_short(view.text or '', 3000))}</blockquote>",
    ]
    if view.proposed:
        lines.append(f"Proposed wording:\n<blockquote>{esc(_short(view.proposed, 1500))}</blockquote>")
    lines.append("Send it, change a part, or cancel.")
    return _fit("\n".join(lines))


def _fit(text: str) -> str:
    return text


def saved(s: Saved) -> str:
    verb = "updated" if s.edited else "recorded"
    late = " It is marked <b>late</b>: it arrived after the deadline." if s.late else ""
    focal = {
        "required": "\nIt goes to your state's focal point, who clears it before it reaches the Secretariat.",
        "advisory": "\nYour state's focal point is asked to clear it.",
        "own": "\nIt goes to the Secretariat as your state's own comment.",
    }.get(s.clearance, "")
    return (
        f"✅ Your {KIND_NAMES.get(s.kind, '').lower()} comment on <b>{esc(s.clause_ref)}</b> is {verb}.{late}{focal}\n"
        "You can edit or withdraw it with /mycomments until the deadline."
    )


def cancelled() -> str:
    return "Comment dropped; nothing was recorded."


def nothing_to_cancel() -> str:
    return "There is nothing to cancel."


def no_my_comments() -> str:
    return "You have not sent any comments yet."


def my_comment(c: MyComment, tz: ZoneInfo) -> str:
    late = " · <b>late</b>" if c.late else ""
    lines = [
        f"<b>{esc(c.clause_ref)}</b> · {KIND_NAMES.get(c.kind, c.kind)}{late} · {esc(c.consultation_title)}",
        f"{esc(_short(c.text, 1500))}",
    ]
    if c.proposed:
        lines.append(f"<i>Proposed wording:</i> {esc(_short(c.proposed, 800))}")
    if c.clearance:
        lines.append(my_comment_clearance(c.clearance, c.clearance_note))
    if c.disposition:
        answer = f"{DISPOSITION_MARKS.get(c.disposition, '')} <b>{esc(disposition_name(c.disposition))}</b>"
        lines.append(
            f"<i>Secretariat:</i> {answer}" + (f" — {esc(_short(c.observation, 800))}" if c.observation else "")
        )
    lines.append(f"<i>Sent {when(c.created_at, tz)}</i>")
    if not c.editable:
        lines.append("<i>The round is closed: this comment can no longer be changed.</i>")
    return "\n".join(lines)


def my_comment_clearance(state: str, note: str | None) -> str:
    if state == "cleared":
        return "🛂 <i>Cleared by your focal point.</i>"
    if state == "returned":
        return (
            f"↩️ <i>Returned by your focal point:</i> {esc(_short(note or '', 800))}\n"
            "<i>Edit it and send it again, or withdraw it.</i>"
        )
    return "⏳ <i>Waiting for clearance by your focal point.</i>"


def my_comments_header(count: int) -> str:
    return f"🗂 You have {count} comment{'s' if count != 1 else ''}:"


def confirm_withdraw(c: MyComment) -> str:
    return f"Withdraw your comment on <b>{esc(c.clause_ref)}</b>? It will be left out of the consolidated draft."


def withdrawn(ref: str) -> str:
    return f"🗑 Your comment on <b>{esc(ref)}</b> is withdrawn."


def kept() -> str:
    return "Kept as it is."


def no_comments_recorded(a: SectionAnswer) -> str:
    if not a.recorded:
        return f"You had already said you have no comments on section {esc(a.section_ref)}."
    return (
        f"✅ Recorded: no comments on section <b>{esc(a.section_ref)} {esc(a.heading)}</b>. "
        "This counts as your response for that section."
    )


def no_comments_undone(a: SectionAnswer) -> str:
    return f"↩️ Your “no comments” on section {esc(a.section_ref)} is withdrawn."


# --- deadlines and status --------------------------------------------------------------------------------


def deadlines(rows: Sequence[tuple[str, str, datetime | None, datetime | None]], tz: ZoneInfo, now: datetime) -> str:
    if not rows:
        return "There is no open consultation for you at the moment."
    lines = ["⏰ <b>Deadlines</b>"]
    for title, status, deadline, national in rows:
        if status == "open":
            lines.append(f"• {esc(title)}: {when(deadline, tz)} — {days_left(deadline, now)}")
            if national is not None:
                left = days_left(national, now) if national > now else "passed"
                lines.append(f"  national deadline (to your focal point): {when(national, tz)} — {left}")
        elif status == "closed":
            lines.append(f"• {esc(title)}: closed")
        else:
            lines.append(f"• {esc(title)}: not yet open")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def sending_status(s: Sending) -> str:
    """How sending goes, over every running instance (for `clausebot status`)."""
    if not s.instances:
        running = "No instance of the bot is running"
    else:
        running = f"{_count(s.instances, 'instance')} running"
    rate = f"{s.send_rate:.1f} messages a second over the last minute ({s.reply_rate:.1f} of them replies to people)"
    floods = (
        "no answer of 429 (too many requests) from Telegram in the last hour"
        if not s.flood_waits_last_hour
        else f"{_count(s.flood_waits_last_hour, 'answer')} of 429 (too many requests) from Telegram in the last hour"
    )
    return f"<b>Sending</b>\n{running}: {rate}.\n{_count(s.queued, 'message')} in the outgoing queue; {floods}."


def status_report(r: StatusReport, tz: ZoneInfo, now: datetime) -> str:
    lines = [f"📊 <b>{esc(r.title)}</b> — {esc(r.status)}"]
    if r.deadline:
        lines.append(f"Deadline {when(r.deadline, tz)} ({days_left(r.deadline, now)})")
    lines.append(f"{r.total_comments} comment(s) so far.")
    if r.state_comments:
        lines.append(_state_comments(r.state_comments))
    if r.clearance != "off":
        lines.append(f"🛂 Clearance: {CLEARANCE_MODES.get(r.clearance, r.clearance)}")
    if r.without_focal:
        lines.append(without_focal_warning(r.without_focal))
    if r.answers is not None and r.answers.total:
        lines.extend(_answer_progress(r.answers))
    for body in r.bodies:
        done = len(body.responded)
        lines.append("")
        lines.append(f"<b>{esc(body.code)}</b> — {done} of {len(body.states)} Member States responded")
        for s in body.states:
            if s.responded:
                detail = f"{s.comments} comment(s)" if s.comments else "no comments"
                if s.late_comments:
                    detail += f", {s.late_comments} late"
                detail += f"; {s.sections_answered}/{s.sections_routed} sections answered"
                if r.clearance != "off":
                    detail += _clearance_detail(s)
                lines.append(f"✅ {esc(s.state)}: {detail}")
            else:
                if s.contacts == 0:
                    detail = "no contact enrolled"
                elif s.joined == 0:
                    detail = f"{s.contacts} invited, none joined"
                else:
                    detail = f"{s.joined} contact(s), {s.sections_delivered}/{s.sections_routed} sections delivered"
                if r.clearance != "off" and (s.waiting or s.returned):
                    detail += _clearance_detail(s)
                lines.append(f"⏳ {esc(s.state)}: {detail}")
            if s.unreachable:
                lines.append(f"   ⚠️ unreachable (blocked the bot): {esc(', '.join(s.unreachable))}")
    return "\n".join(lines)


def _state_comments(by_state: dict[str, int]) -> str:
    return "🏳️ The Member States' own comments (by their focal points): " + ", ".join(
        f"{esc(state)} {n}" for state, n in by_state.items()
    )


def _clearance_by_state(r: StatusReport) -> list[str]:
    """Clearance per Member State over every body: drafted (waiting), returned, cleared."""
    totals: dict[str, list[int]] = {}
    for body in r.bodies:
        for s in body.states:
            t = totals.setdefault(s.state, [0, 0, 0])
            t[0] += s.waiting
            t[1] += s.returned
            t[2] += s.cleared
    lines = [f"🛂 Clearance {esc(r.clearance)}, per Member State (waiting · returned · cleared):"]
    lines += [f"• {esc(state)}: {w} · {ret} · {c}" for state, (w, ret, c) in totals.items() if w or ret or c]
    if r.without_focal:
        lines.append(without_focal_warning(r.without_focal))
    return lines


def _clearance_detail(s: StateStatus) -> str:
    parts = [f"{s.cleared} cleared"]
    if s.waiting:
        parts.append(f"{s.waiting} waiting for clearance")
    if s.returned:
        parts.append(f"{s.returned} returned")
    return "; " + ", ".join(parts)


def _answers_overall(t: Tally) -> str:
    if not t.open:
        return f"💬 All {t.total} comment(s) answered"
    return f"💬 Answered {t.answered} of {t.total} · {t.open} open"


def _answered_of(t: Tally) -> str:
    return f"{t.answered} of {t.total} · {t.open} open" if t.open else f"all {t.total} answered"


def _answer_progress(a: AnswerCounts) -> list[str]:
    """How far the Secretariat's answers have come: overall, per body, per section."""
    lines = ["", _answers_overall(a.overall)]
    if len(a.bodies) > 1:
        lines.append("<b>By body</b>")
        lines.extend(f"• {esc(t.key)}: {_answered_of(t)}" for t in a.bodies)
    lines.append("<b>By section</b>")
    lines.extend(f"• {esc(t.key)} {esc(shorten(t.name, 28))}: {_answered_of(t)}" for t in a.sections)
    return lines


def split_message(text: str, limit: int = MESSAGE_LIMIT - 96) -> list[str]:
    """Split a long report on line boundaries (a line longer than a message on word
    boundaries, its open tags closed at the cut and opened again after it)."""
    if len(text) <= limit:
        return [text]
    parts, current = [], ""
    for line in text.split("\n"):
        for piece in _split_line(line, limit) if len(line) > limit else [line]:
            if current and len(current) + len(piece) + 1 > limit:
                parts.append(current)
                current = ""
            current = f"{current}\n{piece}" if current else piece
    if current:
        parts.append(current)
    return parts


_TOKEN = re.compile(r"(<[^>]*>|&[#\w]+;|\s+|[^<&\s]+|[<&])")


def _split_line(line: str, limit: int) -> list[str]:
    budget = limit - 64  # room for the tags closed and reopened at a cut
    pieces: list[str] = []
    current, open_tags = "", list[str]()
    for token in _TOKEN.findall(line):
        if token.startswith("</"):
            if open_tags:
                open_tags.pop()
        elif token.startswith("<") and len(token) > 1 and not token.endswith("/>"):
            open_tags.append(token)
        while len(current) + len(token) > budget:
            room = budget - len(current)
            if token.startswith(("<", "&")) or room <= 0:
                head, token_rest = "", token
            else:
                head, token_rest = token[:room], token[room:]
            pieces.append(current + head + "".join(_closing(t) for t in reversed(open_tags)))
            current, token = "".join(open_tags), token_rest
            if not token_rest:
                break
        current += token
    if current:
        pieces.append(current)
    return pieces


def _closing(tag: str) -> str:
    name = re.match(r"<\s*([a-zA-Z-]+)", tag)
    return f"</{name.group(1)}>" if name else ""


# --- consolidation ---------------------------------------------------------------------------------------


def consolidating(title: str, fraction: float | None = None) -> str:
    if fraction is None:
        return f"⚙️ Compiling the consolidated draft of <b>{esc(title)}</b>…"
    return f"⚙️ Compiling the consolidated draft of <b>{esc(title)}</b>… {int(fraction * 100)}%"


def consolidated(title: str, comments: int) -> str:
    return (
        f"📄 Consolidated draft of <b>{esc(title)}</b>: a summary page, then the draft with its "
        f"{comments} comment(s) as Word comments, and the comment matrix in the annex."
    )


def with_proposals(count: int) -> str:
    return f"✍️ The draft with the {count} proposed wording(s) as tracked changes: accept or reject each in Word."


def matrix_caption(count: int) -> str:
    return f"📋 The comment matrix ({count} row(s)), as a spreadsheet."


def consolidation_failed() -> str:
    return "❌ The consolidated draft could not be compiled. The error has been logged; please try again or tell the maintainers."


def generic_error() -> str:
    return "⚠️ Something went wrong on our side while handling that. Nothing you sent was lost; please try again in a moment."


# --- reminders, summaries, deadline changes ---------------------------------------------------------------


def bad_schedule(value: str) -> str:
    return f"“{esc(value)}” is not a reminder schedule; use offsets before the deadline like 30d,14d,7d,3d,1d,0d."


def _section_lines(sections: Sequence[tuple[str, str]], limit: int = 12) -> list[str]:
    lines = [f"• {esc(ref)} {esc(heading)}" for ref, heading in sections[:limit]]
    if len(sections) > limit:
        lines.append(f"• … and {len(sections) - limit} more")
    return lines


def reminder(
    title: str,
    deadline: datetime,
    tz: ZoneInfo,
    at: datetime,
    sections: Sequence[tuple[str, str]],
    *,
    national: datetime | None = None,
) -> str:
    lines = [f"⏰ <b>{esc(title)}</b>: {days_left(deadline, at)} — comments are due by {when(deadline, tz)}."]
    if national is not None:
        lines.append(
            f"Your national deadline is <b>{when(national, tz)}</b> ({days_left(national, at)}): "
            "your focal point clears your state's comments after it, before the regional deadline."
        )
    if sections:
        lines.append("Your body and Member State have not yet answered on:")
        lines.extend(_section_lines(sections))
        lines.append("Tap a section to open it. Nothing to add? Tap <b>No comments on this section</b> under it.")
    else:
        lines.append("Your body and Member State have answered on every section; you may still add or edit comments.")
    return "\n".join(lines)


def nudge_message(
    title: str,
    deadline: datetime,
    tz: ZoneInfo,
    at: datetime,
    sections: Sequence[tuple[str, str]],
    *,
    national: datetime | None = None,
) -> str:
    return "📣 Your chair asks for your body's answer.\n" + reminder(
        title, deadline, tz, at, sections, national=national
    )


def focal_digest(title: str, lines: Sequence[DigestLine]) -> str:
    total = sum(line.new for line in lines)
    out = [f"🛂 <b>{esc(title)}</b>: {_count(total, 'new comment')} of your state to clear, by section and body:"]
    out += [
        f"• {esc(line.section_ref)} {esc(shorten(line.section_heading, 40))} · {esc(line.body_code)}: {line.new}"
        for line in lines[:40]
    ]
    if len(lines) > 40:
        out.append(f"… and {len(lines) - 40} more")
    out.append("Send /review to read and clear them.")
    return "\n".join(out)


def focal_reminder(
    title: str, deadline: datetime, national: datetime | None, tz: ZoneInfo, at: datetime, waiting: int
) -> str:
    lines = [
        f"⏰ <b>{esc(title)}</b>: {_count(waiting, 'comment')} of your state wait for your clearance.",
        f"The regional deadline is {when(deadline, tz)} ({days_left(deadline, at)}); "
        "a comment cleared after it is marked late.",
    ]
    if national is not None:
        lines.append(f"Your delegates' national deadline is {when(national, tz)}.")
    lines.append("Send /review to clear them.")
    return "\n".join(lines)


def muted(title: str) -> str:
    return (
        f"🔕 No more reminders for “{esc(title)}” in this stage. You still receive deadline changes, "
        "and reminders come again when its next stage opens."
    )


def unmuted(title: str) -> str:
    return f"🔔 Reminders for “{esc(title)}” are on again."


def summary_label(kind: str, label: str) -> str:
    if kind == "digest":
        return f"Weekly digest ({label})"
    if label == "deadline":
        return "Deadline reached"
    number, unit = label[:-1], label[-1:]
    name = {"d": "day", "h": "hour", "m": "minute", "s": "second", "w": "week"}.get(unit)
    if not name or not number.replace(".", "").isdigit():
        return label
    return f"{number} {name}{'' if number == '1' else 's'} before the deadline"


def chart_caption(report: StatusReport, body_code: str | None) -> str:
    scope = f"{esc(body_code)}: " if body_code else ""
    return f"📈 {scope}responses to <b>{esc(report.title)}</b> by body and Member State"


def _per_section(per_section: Sequence[tuple[str, str, int]]) -> list[str]:
    return [f"• {esc(ref)} {esc(heading)}: {count}" for ref, heading, count in per_section]


def chair_summary(
    report: StatusReport,
    body: BodyStatus,
    per_section: Sequence[tuple[str, str, int]],
    tz: ZoneInfo,
    now: datetime,
    label: str = "",
) -> str:
    head = f"📊 <b>{esc(body.code)}</b> — {esc(report.title)}"
    if label:
        head += f"\n<i>{esc(label)}</i>"
    lines = [head]
    if report.deadline:
        lines.append(f"Deadline {when(report.deadline, tz)} — {days_left(report.deadline, now)}.")
    lines.append(f"{len(body.responded)} of {len(body.states)} Member States have responded.")
    for state in body.states:
        cleared = _clearance_detail(state) if report.clearance != "off" else ""
        if state.responded:
            detail = f"{state.comments} comment(s)" if state.comments else "no comments"
            lines.append(f"✅ {esc(state.state)} — {detail}{cleared}")
        else:
            why = "no contact enrolled" if state.contacts == 0 else "not yet"
            lines.append(f"⏳ {esc(state.state)} — {why}{cleared if state.waiting or state.returned else ''}")
    lines.append("")
    lines.append("<b>Comments per section</b>")
    lines.extend(_per_section(per_section))
    return "\n".join(lines)


def secretariat_summary(
    report: StatusReport, per_section: Sequence[tuple[str, str, int]], tz: ZoneInfo, now: datetime, label: str = ""
) -> str:
    head = f"📊 <b>{esc(report.title)}</b> — all bodies"
    if label:
        head += f"\n<i>{esc(label)}</i>"
    lines = [head]
    if report.deadline:
        lines.append(f"Deadline {when(report.deadline, tz)} — {days_left(report.deadline, now)}.")
    lines.append(f"{report.total_comments} comment(s) so far.")
    answers = report.answers if report.answers is not None and report.answers.total else None
    if answers:
        lines.append(_answers_overall(answers.overall))
    if report.state_comments:
        lines.append(_state_comments(report.state_comments))
    if report.clearance != "off":
        lines.extend(_clearance_by_state(report))
    answered_in = {t.key: t for t in answers.bodies} if answers else {}
    for body in report.bodies:
        waiting = ", ".join(s.state for s in body.not_responded if s.contacts)
        line = f"• <b>{esc(body.code)}</b>: {len(body.responded)}/{len(body.states)} responded"
        if body.code in answered_in:
            t = answered_in[body.code]
            line += f"; answered {t.answered} of {t.total}" if t.open else f"; all {t.total} answered"
        if waiting:
            line += f"; waiting for {esc(waiting)}"
        lines.append(line)
    lines.append("")
    lines.append("<b>Comments per section</b>")
    if not answers:
        lines.extend(_per_section(per_section))
        return "\n".join(lines)
    open_in = {t.key: t.open for t in answers.sections}
    for ref, heading, count in per_section:
        left = open_in.get(ref, 0)
        after = f" ({left} open)" if left else (" (all answered)" if count else "")
        lines.append(f"• {esc(ref)} {esc(heading)}: {count}{after}")
    return "\n".join(lines)


def nudge_not_yours() -> str:
    return "Only the chair of this body (or the Secretariat) can nudge its delegates."


def nudge_too_soon(next_at: datetime, tz: ZoneInfo) -> str:
    return f"This body's delegates were nudged less than a day ago. You can nudge again from {when(next_at, tz)}."


def nudged(count: int, states: Sequence[str]) -> str:
    if not count:
        return (
            "Nobody to nudge: every enrolled delegate of your body has responded, muted reminders or cannot be reached."
        )
    return f"📣 Nudged {count} delegate(s): {esc(', '.join(states))}."


def deadline_moved(title: str, old: datetime | None, new: datetime, tz: ZoneInfo) -> str:
    verb = "extended" if old is None or new > old else "brought forward"
    previous = f" (was {when(old, tz)})" if old else ""
    return (
        f"📅 The deadline for <b>{esc(title)}</b> has been {verb}: comments are now due by "
        f"<b>{when(new, tz)}</b>{previous}. The attached file adds it to your calendar."
    )


def round_closed_notice(title: str) -> str:
    return f"🔒 The consultation on <b>{esc(title)}</b> is closed. Thank you for your comments."


def deadline_changed(title: str, deadline: datetime, tz: ZoneInfo, told: int) -> str:
    return f"📅 New deadline for <b>{esc(title)}</b>: {when(deadline, tz)}. {told} contact(s) are being told, with a calendar file."


def extend_usage() -> str:
    return "Usage: <code>/extend [CONSULTATION] DAYS</code> (added to the deadline) or <code>/extend [CONSULTATION] YYYY-MM-DD</code>."


def late_comments(title: str, allowed: bool) -> str:
    if allowed:
        return f"Late comments on “{esc(title)}” are accepted; they are marked late everywhere."
    return f"Late comments on “{esc(title)}” are refused after the deadline."


def late_usage() -> str:
    return "Usage: <code>/latecomments [CONSULTATION] on|off</code>"


def reminder_plan(title: str, schedule: str, everyone: bool, jobs: Sequence[PlannedJob], tz: ZoneInfo) -> str:
    who = "every delegate" if everyone else "delegates whose body and Member State have not responded"
    lines = [
        f"⏰ <b>Reminders for {esc(title)}</b>",
        f"Schedule: <code>{esc(schedule)}</code> before the deadline, to {who}.",
    ]
    for job in jobs:
        mark = {"pending": "•", "done": "✓", "skipped": "–"}.get(job.status, "•")
        lines.append(f"{mark} {when(job.due_at, tz)} — {esc(job.kind)} {esc(job.label)}")
    if not jobs:
        lines.append("Nothing planned: the round is not open.")
    lines.append(
        "Change with <code>/reminders [CONSULTATION] 14d,7d,1d</code>; <code>everyone</code> or <code>nonresponders</code> sets who is reminded."
    )
    return "\n".join(lines)


def timezone_is(name: str) -> str:
    return f"🕒 Your time zone is <b>{esc(name)}</b>. Dates and reminders follow it. Change it with <code>/timezone Asia/Yangon</code>."


def bad_duration(value: str) -> str:
    return f"“{esc(value)}” is not a duration: use a number and a unit s, m, h or d, like 7d or 90m."


# --- answering comments -----------------------------------------------------------------------------

DISPOSITION_NAMES = {
    "accepted": "Accepted",
    "partly": "Accepted in part",
    "noted": "Noted",
    "rejected": "Not accepted",
}
DISPOSITION_MARKS = {"accepted": "✅", "partly": "◐", "noted": "📝", "rejected": "✖️"}


def disposition_name(value: str | None) -> str:
    return DISPOSITION_NAMES.get(value or "", value or "not answered")


def bad_disposition(value: str) -> str:
    return f"“{esc(value)}” is not an answer; use accepted, partly, noted or rejected."


def bad_answer_filter(value: str) -> str:
    return (
        f"“{esc(value)}” is not a section, body, Member State or comment type of this consultation. "
        "Use for example <code>/answer 2</code>, <code>/answer SOMHD</code>, <code>/answer Thailand</code> "
        "or <code>/answer te</code>."
    )


def answer_not_in_hand() -> str:
    return "That comment is no longer the one you are answering. Send /answer to go on where you are."


def observation_required(disposition: str) -> str:
    return f"“{esc(disposition_name(disposition))}” needs an observation: say in a message what was changed or why."


def comment_withdrawn(ref: str) -> str:
    return f"The comment on {esc(ref)} was withdrawn by its author; it needs no answer."


def already_answered(ref: str, by: str, disposition: str) -> str:
    return (
        f"The comment on {esc(ref)} was answered meanwhile by {esc(by)} "
        f"({esc(disposition_name(disposition))}). Here is the next one."
    )


def answer_changed_meanwhile(number: str, by: str, disposition: str | None, first: bool) -> str:
    verb = "answered" if first else "changed its answer"
    return (
        f"{esc(number)}: {esc(by)} {verb} meanwhile ({esc(disposition_name(disposition))}); "
        "yours was not stored. Here it is as it stands."
    )


def answer_card_out_of_date(number: str, by: str, disposition: str | None) -> str:
    return (
        f"{esc(number)}: the answer has changed since that card was shown "
        f"(now {esc(disposition_name(disposition))}, by {esc(by)}); nothing was changed. Here it is as it stands."
    )


def _answer_now(disposition: str | None, observation: str | None, published_at: datetime | None) -> str:
    return (
        f"Answer now: <b>{esc(disposition_name(disposition))}</b>"
        + (f" — {esc(_short(observation, 600))}" if observation else "")
        + (f" (made known {when(published_at)})" if published_at else " (not yet published)")
    )


def answer_card(a: ToAnswer) -> str:
    """One comment as the officer answering it sees it (or changing its answer)."""
    scope = f" · {esc(a.scope)}" if a.scope else ""
    if a.changing:
        head = f"✏️ <b>{esc(a.number or a.clause_ref)}</b> · {esc(a.consultation_title)} — changing its answer"
    else:
        head = f"🗂 <b>{esc(a.consultation_title)}</b>{scope} — {a.answered} of {a.total} answered"
    lines = [
        head,
        "",
        f"<b>{esc(a.clause_ref)}</b> {esc(_short(a.clause_text, 600))}",
        "",
        f"💬 <b>{esc(a.author)}</b> · {KIND_NAMES.get(a.kind, a.kind)}" + (" · <i>late</i>" if a.late else ""),
        esc(_short(a.text, 1500)),
    ]
    if a.proposed:
        lines += ["", f"<i>Proposed wording:</i> {esc(_short(a.proposed, 1000))}"]
    if a.changing:
        lines += ["", _answer_now(a.disposition, a.observation, a.published_at)]
        if a.published_at:
            lines.append("A change goes to the delegate as a short update at the next /publish.")
    if a.step == "observation" and a.chosen:
        need = "required" if a.observation_required else "optional"
        taps = [t for t, shown in (("Skip", need == "optional"), ("Keep", bool(a.changing and a.observation))) if shown]
        lines += [
            "",
            f"Your answer: <b>{esc(disposition_name(a.chosen))}</b>. Now write the observation ({need}) as one message"
            + (f", or tap {' or '.join(taps)}." if taps else "."),
        ]
    else:
        lines += ["", "Your new answer?" if a.changing else "Your answer?"]
    return "\n".join(lines)


def answers_done(d: WalkDone) -> str:
    scope = f" ({esc(d.scope)})" if d.scope else ""
    return (
        f"🎉 Every comment on <b>{esc(d.consultation_title)}</b>{scope} has an answer or is held by another officer: "
        f"{d.answered} of {d.total} answered. Send /publish when the delegates should be told."
    )


def answer_history(h: AnswerHistory) -> str:
    lines = [
        f"🗂 <b>{esc(h.number)}</b> on {esc(h.clause_ref)} · {esc(h.author)}",
        f"<i>{esc(_short(h.text, 600))}</i>",
        "",
        _answer_now(h.disposition, h.observation, h.published_at),
    ]
    if h.withdrawn:
        lines.append("Withdrawn by its author: it takes no answer.")
    elif h.published_at and h.changes and h.changes[-1].at > h.published_at:
        lines.append("Changed since it was made known: the delegate is sent the change at the next /publish.")
    elif h.published_at:
        lines.append("A change goes to the delegate as a short update at the next /publish.")
    if h.changes:
        lines += ["", "History:"]
        if len(h.changes) > 20:
            lines.append(f"… {len(h.changes) - 20} earlier change(s)")
        for c in h.changes[-20:]:
            before = disposition_name(c.before[0]) if c.before[0] else "no answer"
            line = f"• {when(c.at)} — {esc(c.by)}: {esc(before)} → <b>{esc(disposition_name(c.after[0]))}</b>"
            if c.after[1] != c.before[1]:
                line += f": “{esc(_short(c.after[1], 120))}”" if c.after[1] else " (no observation)"
            lines.append(line)
    else:
        lines += ["", "No answer has been given yet."]
    if h.clearance:
        lines += ["", "Clearance by the focal point:"]
        for step in h.clearance[-10:]:
            line = f"• {when(step.at)} — {esc(step.by)}: {CLEARANCE_ACTIONS.get(step.action, esc(step.action))}"
            if step.note:
                line += f": “{esc(_short(step.note, 120))}”"
            if step.action in ("edited", "merged") and step.text_before:
                line += f" (the text before: “{esc(_short(step.text_before, 300))}”)"
            lines.append(line)
    return "\n".join(lines)


CLEARANCE_ACTIONS = {
    "cleared": "cleared",
    "returned": "returned to the delegate",
    "edited": "edited",
    "merged": "merged",
    "resubmitted": "sent again by the delegate",
}


def history_usage() -> str:
    return "Usage: <code>/history [CONSULTATION] NUMBER</code>, the comment's number in the matrix, e.g. TH-004."


def unknown_number(number: str, name: str) -> str:
    return f"<b>{esc(name)}</b> has no comment numbered “{esc(number)}”. Numbers are given in the comment matrix (/consolidate)."


def change_cancelled() -> str:
    return "Cancelled: the answer is as it was."


def answers_stopped(progress: tuple[int, int] | None) -> str:
    if progress is None:
        return "You were not answering comments."
    return f"Stopped. {progress[0]} of {progress[1]} answered; /answer goes on where you left off."


def answer_recorded(a: Answered) -> str:
    if a.same:
        return f"{DISPOSITION_MARKS.get(a.disposition, '')} {esc(a.clause_ref)} stays {esc(disposition_name(a.disposition))}: nothing changed."
    verb = "changed to" if a.changed else "recorded:"
    return (
        f"{DISPOSITION_MARKS.get(a.disposition, '')} {esc(a.clause_ref)} {verb} {esc(disposition_name(a.disposition))}"
    )


def answers_message(title: str, lines: Sequence[AnswerLine]) -> list[str]:
    """What a delegate is told of their comments' answers: one message, split only by length."""
    again = all(line.again for line in lines)
    head = (
        f"📬 <b>{esc(title)}</b>: the Secretariat has "
        + ("changed its answer to" if again else "answered")
        + f" {len(lines)} of your comment(s)."
    )
    blocks = []
    for line in lines:
        block = (
            f"{DISPOSITION_MARKS.get(line.disposition, '•')} <b>{esc(line.clause_ref)}</b> "
            f"({KIND_NAMES.get(line.kind, line.kind)}) — <b>{esc(disposition_name(line.disposition))}</b>"
            + (" <i>(changed)</i>" if line.again and not again else "")
            + f"\n<i>{esc(_short(line.text, 300))}</i>"
        )
        if line.observation:
            block += f"\nSecretariat: {esc(_short(line.observation, 1200))}"
        blocks.append(block)
    return split_message(head + "\n\n" + "\n\n".join(blocks))


def published(p: Published) -> str:
    if not p.comments:
        text = f"Nothing new to tell on <b>{esc(p.title)}</b>: every answer given has been sent."
    else:
        text = (
            f"📬 Answers to {p.comments} comment(s) on <b>{esc(p.title)}</b> go to {p.delegates} delegate(s), "
            "one message each."
        )
    if p.chairs:
        text += f" {p.chairs} chair(s) get a summary of their body's answers."
    if p.unanswered:
        text += f" {p.unanswered} comment(s) still have no answer (/answer)."
    return text


def disposition_label(value: str | None) -> str:
    """A disposition as a chart's legend names it; None: not yet answered."""
    return DISPOSITION_NAMES.get(value, value) if value else "Not yet answered"


def answer_summary(title: str, body: str, counts: AnswerCounts) -> str:
    """A chair's summary of the answers to their body's comments, after the Secretariat made
    them known: by disposition, then per Member State."""
    o = counts.overall
    lines = [
        f"📬 <b>{esc(body)}</b>: the Secretariat has answered {o.answered} of {o.total} comment(s) "
        f"on <b>{esc(title)}</b>.",
        "",
    ]
    for value, name in DISPOSITION_NAMES.items():
        lines.append(f"{DISPOSITION_MARKS[value]} {name}: {o.by_disposition.get(value, 0)}")
    lines.append(f"⏳ Not yet answered: {o.open}")
    lines += ["", "<b>By Member State</b>"]
    for t in counts.states:
        parts = [f"{DISPOSITION_MARKS[v]} {t.by_disposition[v]}" for v in DISPOSITION_NAMES if t.by_disposition.get(v)]
        if t.open:
            parts.append(f"⏳ {t.open}")
        lines.append(f"{esc(t.key)}: {' · '.join(parts)}")
    return "\n".join(lines)


def answer_chart_caption(title: str, body: str) -> str:
    return f"📈 {esc(body)}: answers to comments on <b>{esc(title)}</b> by Member State"


def answer_usage() -> str:
    return (
        "Usage: <code>/answer [CONSULTATION] [section | body | Member State | ge/te/ed]</code>. "
        "The unanswered comments come one at a time."
    )


# --- answering in bulk: the matrix sent back --------------------------------------------------------

_ROW_PROBLEMS: dict[str, Callable[[RefusedRow], str]] = {
    "formula": lambda r: f"row {r.row}: the {esc(r.detail)} cell holds a formula; type the value instead",
    "no_number": lambda r: f"row {r.row}: an answer with no comment number",
    "unknown_number": lambda r: f"row {r.row}: unknown number {esc(shorten(r.number, 40))}",
    "duplicate": lambda r: f"row {r.row}: {esc(r.number)} is also on row {esc(r.detail)}",
    "withdrawn": lambda r: f"row {r.row}: {esc(r.number)} was withdrawn by its author and takes no answer",
    "bad_disposition": lambda r: f"row {r.row}: disposition ‘{esc(shorten(r.detail, 40))}’",
    "needs_observation": lambda r: (
        f"row {r.row}: {esc(r.number)} is ‘{esc(disposition_name(r.detail))}’ but has no observation"
    ),
    "no_disposition": lambda r: f"row {r.row}: {esc(r.number)} has an observation but no disposition",
    "too_long": lambda r: f"row {r.row}: {esc(r.number)}: the observation is longer than {esc(r.detail)} characters",
}
_MAX_ROWS_LISTED = 30


def import_preview(p: ImportPreview) -> str:
    """What a filled-in matrix would change, before anything is stored (or after, with `applied`)."""
    counts = [
        f"{p.new} new answer(s)",
        f"{p.changed} changed",
    ]
    if p.unchanged:
        counts.append(f"{p.unchanged} as already stored")
    if p.open:
        counts.append(f"{p.open} still without a disposition")
    head = f"📥 <b>{esc(p.title)}</b> — comment matrix, {p.rows} comment row(s): " + ", ".join(counts)
    lines = [head + "."]
    if p.refused:
        listed = "; ".join(_ROW_PROBLEMS[r.problem](r) for r in p.refused[:_MAX_ROWS_LISTED])
        more = f"; … and {len(p.refused) - _MAX_ROWS_LISTED} more" if len(p.refused) > _MAX_ROWS_LISTED else ""
        lines.append(f"⛔ {len(p.refused)} row(s) refused: {listed}{more}.")
        if any(r.problem == "bad_disposition" for r in p.refused):
            lines.append("A disposition is one of: Accepted, Accepted in part, Noted, Not accepted.")
    if p.text_changed:
        rows = ", ".join(f"row {row} ({esc(number)})" for row, number in p.text_changed[:_MAX_ROWS_LISTED])
        lines.append(f"✏️ The comment text was edited in {rows}; comments are kept as their authors wrote them.")
    if p.refused:
        lines.append("Nothing was changed. Mend those rows and send the file again.")
    elif p.applied:
        lines.append(f"✅ Stored: {p.changes} answer(s). Send /publish when the delegates should be told.")
    elif not p.changes:
        lines.append("Nothing to store: the file gives no new or changed answer.")
    else:
        lines.append(f"Store these {p.changes} answer(s)?")
    return "\n\n".join(lines)


def matrix_with_macros(filename: str) -> str:
    return (
        f"“{esc(shorten(filename, 80))}” is a workbook with macros; such files are not read. "
        "Save it as an ordinary Excel workbook (.xlsx) and send it again."
    )


def matrix_not_xlsx(filename: str) -> str:
    return (
        f"“{esc(shorten(filename, 80))}” is not an .xlsx workbook. Answers come back in the comment matrix the bot "
        "compiled: save it as Excel workbook (.xlsx) and send it again."
    )


def import_cancelled() -> str:
    return "Cancelled: no answer from that file was stored."


def not_a_matrix(detail: str) -> str:
    return esc(detail)


def matrix_of_another(found: str, wanted: str) -> str:
    return (
        f"This matrix belongs to <b>{esc(found)}</b>, not to <b>{esc(wanted)}</b>; nothing was changed. "
        "Send the matrix compiled for this consultation."
    )


# --- refusals ----------------------------------------------------------------------------------------

# --- a national focal point's review ---------------------------------------------------------------------


def review_none() -> str:
    return (
        "🛂 Nothing is waiting for your clearance. Comments your state's delegates send in a consultation "
        "that asks for clearance come here: send /review again later."
    )


def review_header(groups: Sequence[ReviewGroup]) -> str:
    count = sum(len(g.items) for g in groups)
    return (
        f"🛂 {_count(count, 'comment')} of your state waiting for clearance, by section and body. "
        "For each: <b>Clear</b>, <b>Return</b> it to its delegate with a note, <b>Edit</b> it for the state, "
        "or <b>Merge</b> it with another on the same clause. Once you have read a group, you may clear it all at once."
    )


def review_group(g: ReviewGroup) -> str:
    return (
        f"📂 <b>{esc(g.consultation_title)}</b> · section <b>{esc(g.section_ref)}</b> "
        f"{esc(shorten(g.section_heading, 60))} · <b>{esc(g.body_code)}</b>"
    )


def review_item(i: ReviewItem) -> str:
    late = " · <b>late</b>" if i.late else ""
    lines = [
        f"<b>{esc(i.clause_ref)}</b> · {KIND_NAMES.get(i.kind, i.kind)}{late} · {esc(i.body_code)} · {esc(i.author)}",
        esc(_short(i.text, 2500)),
    ]
    if i.proposed:
        lines.append(f"<i>Proposed wording:</i> {esc(_short(i.proposed, 1200))}")
    return "\n".join(lines)


def review_group_end(g: ReviewGroup) -> str:
    return (
        f"That is all from {esc(g.body_code)} on section {esc(g.section_ref)} "
        f"({_count(len(g.items), 'comment')}). Clear them all at once?"
    )


def cleared(c: Cleared) -> str:
    late = " It is marked late: the deadline has passed." if c.late else ""
    return f"✅ Cleared: the comment on <b>{esc(c.ref)}</b> goes to the Secretariat for your state.{late}"


def cleared_ack() -> str:
    return "Cleared"


def group_cleared(count: int) -> str:
    if not count:
        return "Nothing left to clear here: every comment of this group was cleared, returned or withdrawn meanwhile."
    return f"✅ Cleared {_count(count, 'comment')}: they go to the Secretariat for your state."


def ask_return_note(ref: str) -> str:
    return (
        f"↩️ Returning the comment on <b>{esc(ref)}</b> to its delegate. "
        "Write the note they will get (what to change, or why it cannot go out as it is):"
    )


def ask_state_text(ref: str, current: str) -> str:
    return (
        f"✏️ Editing the comment on <b>{esc(ref)}</b> for your state. Send its new text; "
        f"the delegate's text is kept in its history.\n\n<i>Now:</i> {esc(_short(current, 2500))}"
    )


def review_done(d: Done) -> str:
    if d.step == "edit":
        return (
            f"✏️ The comment on <b>{esc(d.ref)}</b> now reads as you wrote it (the delegate's text is kept). "
            "It still waits for clearance: send /review to clear it."
        )
    told = "Its delegate is told, with your note" if d.told else "Its delegate has no chat with the bot to be told in"
    return f"↩️ The comment on <b>{esc(d.ref)}</b> is returned. {told}; they can revise it and send it again."


def review_cancelled() -> str:
    return "Dropped: nothing was changed."


def merge_choose(ref: str) -> str:
    return f"🔗 Merge the comment on <b>{esc(ref)}</b> with which other comment of your state on this clause?"


def merge_label(i: ReviewItem) -> str:
    return f"{i.body_code} · {i.author}: {shorten(i.text, 36)}"


def merged(m: Merged) -> str:
    return (
        f"🔗 Merged: one comment on <b>{esc(m.ref)}</b> now holds both texts (each kept in its history). "
        f"Edit it if it should read as one, then clear it.\n\n{esc(_short(m.text, 2500))}"
    )


def comment_returned(title: str, ref: str, state: str, note: str) -> str:
    return (
        f"↩️ <b>{esc(title)}</b>: the {esc(state)} focal point returned your comment on <b>{esc(ref)}</b>.\n"
        f"<i>Note:</i> {esc(_short(note, 2500))}\n\n"
        "Revise it and send it again from /mycomments (✏️ Edit), or withdraw it."
    )


def focal_hint() -> str:
    return "Send /review to see your state's comments waiting for clearance, or /help for everything you can do."


def not_your_state() -> str:
    return "⛔ That comment is not of your Member State: a focal point clears only their own state's comments."


def comment_merged(ref: str) -> str:
    return f"The comment on {esc(ref)} was merged into another meanwhile; send /review for what is waiting."


def withdrawn_not_clearable(ref: str) -> str:
    return f"The comment on {esc(ref)} was withdrawn by its delegate: there is nothing to clear."


def already_cleared(ref: str, by: str) -> str:
    who = f" by {esc(by)}" if by else ""
    return f"The comment on {esc(ref)} was already cleared{who}; nothing was changed."


def already_returned(ref: str, by: str) -> str:
    who = f" by {esc(by)}" if by else ""
    return (
        f"The comment on {esc(ref)} was returned to its delegate{who}; it comes back for clearance "
        "once they send it again. Nothing was changed."
    )


def no_review_in_progress() -> str:
    return "Nothing is waiting for your note or text: send /review."


def nothing_to_merge(ref: str) -> str:
    return f"No other comment of your state waits for clearance on {esc(ref)}: there is nothing to merge it with."


def merge_same() -> str:
    return "A comment cannot be merged with itself."


def merge_other_clause(ref: str, other: str) -> str:
    return f"Only comments on one clause can be merged: these are on {esc(ref)} and {esc(other)}."


# --- the endorsement stage ------------------------------------------------------------------------------

ENDORSEMENT_ANSWERS = {
    "endorse": "✅ Endorse",
    "reservation": "☑️ Endorse with a reservation",
    "cannot": "⛔ Cannot endorse",
    "silence": "🤫 Endorsed by silence (no objection by the deadline)",
    "none": "no answer",
}
OUTCOMES = {
    "endorsed_by_all": "endorsed by all",
    "endorsed_with_reservations": "endorsed with reservations",
    "not_endorsed": "not endorsed",
}


def _pair(body: str | None, state: str) -> str:
    return f"{body} – {state}" if body else state


def _silence_rule(b: Ballot, tz: ZoneInfo) -> str:
    who = _pair(b.body, b.state)
    return (
        f"🤫 <b>Silence procedure.</b> If {esc(who)} has not objected by {when(b.deadline, tz)}, it is recorded "
        f"as <b>endorsing</b> {esc(b.version)}. No answer is needed to endorse; to object, tap "
        "<b>Cannot endorse</b> and give the reason."
    )


def _standing_line(b: Ballot, tz: ZoneInfo) -> str:
    s = b.standing
    if s is None:
        return (
            "No answer yet."
            if not b.silence
            else "No answer yet (under the silence procedure, none is needed to endorse)."
        )
    answer = ENDORSEMENT_ANSWERS.get(s.kind, s.kind)
    text = f": “{esc(shorten(s.text, 600))}”" if s.text else ""
    if s.for_state and b.body is not None:
        return (
            f"🏛 {esc(b.state)}'s focal point ({esc(s.by)}) has answered for the whole Member State: "
            f"<b>{answer}</b>{text} ({when(s.at, tz)}). Their answer speaks for every body of {esc(b.state)}."
        )
    return f"Answer recorded: <b>{answer}</b>{text}, by {esc(s.by)}, {when(s.at, tz)}."


def ballot(b: Ballot, tz: ZoneInfo) -> str:
    """The endorsement ballot: what is asked, by when, the silence rule if it applies, and the
    answer that stands."""
    if b.body is None:
        whom = f"As {esc(b.state)}'s focal point, your answer speaks for <b>every sectoral body of {esc(b.state)}</b>."
    else:
        whom = f"You answer for <b>{esc(_pair(b.body, b.state))}</b>."
    lines = [
        f"🖋 <b>Endorsement: {esc(b.title)}</b> ({esc(b.version)})",
        f"{whom} Answers are due by <b>{when(b.deadline, tz)}</b>.",
        "Read the text with the button below (.docx) or /sections. Endorse it, endorse it with a reservation, "
        "or say you cannot endorse it; you can change your answer until the deadline.",
    ]
    if b.silence:
        lines += ["", _silence_rule(b, tz)]
    lines += ["", _standing_line(b, tz)]
    if not b.is_open:
        lines += ["", "🔒 Answers are no longer taken."]
    return "\n".join(lines)


def endorsement_reminder(b: Ballot, tz: ZoneInfo) -> str:
    who = _pair(b.body, b.state)
    head = f"⏰ <b>Endorsement of {esc(b.title)}</b> ({esc(b.version)}) is due by <b>{when(b.deadline, tz)}</b>."
    if b.silence:
        return (
            f"{head}\nUnder the silence procedure, {esc(who)} will be recorded as endorsing unless it objects by then. "
            "If it cannot endorse, tap <b>Cannot endorse</b> and give the reason; you may also endorse now."
        )
    return f"{head}\nNo answer has been recorded for {esc(who)} yet."


def ask_endorsement_text(kind: str, b: Ballot) -> str:
    who = esc(_pair(b.body, b.state))
    if kind == "reservation":
        return (
            f"☑️ {who} endorses {esc(b.version)} with a reservation. Type the reservation in one message "
            "(the clause it is about, and what you reserve). It is recorded as you type it."
        )
    return (
        f"⛔ {who} cannot endorse {esc(b.version)}. Type the reason in one message; the Secretariat reads it "
        "as it stands in the endorsement record."
    )


def endorsement_recorded(a: Endorsed, tz: ZoneInfo) -> str:
    b = a.ballot
    if a.same:
        head = "This answer was already recorded: nothing changed."
    elif a.before is not None:
        head = f"🔁 Answer changed (it was: {ENDORSEMENT_ANSWERS.get(a.before.kind, a.before.kind)})."
    else:
        head = "📝 Answer recorded."
    if a.breaks_silence:
        head += " Your objection <b>breaks the silence</b>: the Secretariat and the chair have been told."
    return f"{head}\n\n{ballot(b, tz)}"


def silence_broken(b: Ballot, tz: ZoneInfo) -> str:
    s = b.standing
    who = _pair(b.body, b.state) if b.body else f"{b.state} (its focal point, for all its bodies)"
    reason = f"\nReason: “{esc(shorten(s.text, 700))}”" if s is not None and s.text else ""
    by = f" ({esc(s.by)}, {when(s.at, tz)})" if s is not None else ""
    return (
        f"🚨 <b>The silence is broken</b> on {esc(b.title)} ({esc(b.version)}): <b>{esc(who)}</b> cannot endorse"
        f"{by}.{reason}\nThe silence procedure runs until {when(b.deadline, tz)}."
    )


def _tally_counts(t: EndorsementTally) -> str:
    c = t.result.counts
    parts = [f"{c.endorse} endorse", f"{c.reservation} with a reservation", f"{c.cannot} cannot endorse"]
    if t.result.silence_applied:
        parts.append(f"{c.silence} by silence")
    parts.append(f"{c.none} no answer" + (f" ({c.not_enrolled} with no contact enrolled)" if c.not_enrolled else ""))
    return f"{c.total} body × Member State pairs: " + ", ".join(parts)


def endorsement_outcome_line(t: EndorsementTally) -> str:
    outcome = OUTCOMES.get(t.result.outcome.value, t.result.outcome.value)
    if t.result.final:
        return f"Outcome: <b>{outcome}</b>."
    if t.silence:
        return f"So far (provisional until the deadline; silence is counted only then): <b>{outcome}</b>."
    return f"So far (provisional until the deadline): <b>{outcome}</b>."


def endorsement_record_caption(t: EndorsementTally, tz: ZoneInfo) -> str:
    silence = " under the silence procedure" if t.silence else ""
    # A caption holds 1,024 characters: the title is what gives way.
    return (
        f"📄 <b>Endorsement record</b> of {esc(shorten(t.title, 400))} ({esc(t.version)}){silence}, "
        f"deadline {when(t.deadline, tz)}.\n{endorsement_outcome_line(t)}\n{_tally_counts(t)}."
    )


def endorsement_closed(t: EndorsementTally, kind: str, who: str) -> str:
    outcome = OUTCOMES.get(t.result.outcome.value, t.result.outcome.value)
    mine = f"\nRecorded for {esc(who)}: {ENDORSEMENT_ANSWERS.get(kind, kind)}." if kind else ""
    return (
        f"🔒 The endorsement of <b>{esc(t.title)}</b> ({esc(t.version)}) is closed: <b>{outcome}</b>.{mine}\n"
        "Thank you. The Secretariat has the endorsement record."
    )


def endorsement_status(t: EndorsementTally, tz: ZoneInfo) -> str:
    silence = " (silence procedure)" if t.silence else ""
    lines = [
        f"🖋 <b>Endorsement of {esc(t.title)}</b> ({esc(t.version)}){silence}",
        f"Deadline: {when(t.deadline, tz)}",
        endorsement_outcome_line(t),
        _tally_counts(t) + ".",
    ]
    objections = [p for p in t.result.pairs if p.kind.value == "cannot"]
    reservations = [p for p in t.result.pairs if p.kind.value == "reservation"]
    for title, pairs in (("⛔ Cannot endorse", objections), ("☑️ Reservations", reservations)):
        if pairs:
            lines += ["", f"<b>{title}</b>"]
            for p in pairs[:20]:
                text = p.answer.text if p.answer is not None else ""
                lines.append(f"• {esc(_pair(p.body, p.state))}: {esc(shorten(text, 200))}")
            if len(pairs) > 20:
                lines.append(f"… and {len(pairs) - 20} more (see the record)")
    waiting: dict[str, list[str]] = {}
    for p in t.result.pairs:
        if p.kind.value == "none":
            waiting.setdefault(p.body, []).append(p.state + ("" if p.enrolled else " (no contact)"))
    if waiting:
        lines += ["", "<b>No answer yet</b>" if not t.result.final else "<b>No answer</b>"]
        lines += [f"• {esc(body)}: {esc(', '.join(states))}" for body, states in waiting.items()]
    return "\n".join(lines)


def opened_endorsement(o: Opened, tz: ZoneInfo) -> str:
    silence = (
        " as a <b>silence procedure</b>: a body and Member State that has not objected by then is recorded as endorsing"
        if o.silence
        else ""
    )
    return (
        f"📣 Endorsement of <b>{esc(o.title)}</b> ({esc(o.version)}) is open until {when(o.deadline, tz)}{silence}.\n"
        f"The ballot goes to {o.contacts} delegate(s) and focal point(s){_routed_to(o.bodies)}: "
        f"{o.messages_queued} message(s) queued. "
        "Watch the answers with /status; the endorsement record is sent to you and the chairs at the deadline."
    )


def endorsement_by_focal(state: str, by: str, kind: str) -> str:
    return (
        f"{esc(state)}'s focal point ({esc(by)}) has answered for the whole Member State: "
        f"{ENDORSEMENT_ANSWERS.get(kind, kind)}. Their answer speaks for every body of {esc(state)}; "
        "talk to them if your body sees it otherwise."
    )


def endorsement_closed_refusal(title: str, deadline: datetime | None, closed_at: datetime | None, silence: bool) -> str:
    early = closed_at is not None and deadline is not None and closed_at < deadline
    if silence and not early:
        return (
            f"🔒 The silence procedure on “{esc(title)}” ended {when(closed_at or deadline)}: answers and objections "
            "are no longer taken. A body that had not objected by then is recorded as endorsing; please contact "
            "the Secretariat directly."
        )
    return (
        f"🔒 The endorsement of “{esc(title)}” closed {when(closed_at or deadline)}: answers are no longer taken. "
        "Please contact the Secretariat directly."
    )


def endorsement_gone() -> str:
    return "This endorsement button is from a stage that is no longer running; nothing was recorded."


def endorsement_not_routed(body: str) -> str:
    return f"This endorsement is not asked of {esc(body)}; nothing was recorded."


def endorsement_text_required(kind: str) -> str:
    what = "the reservation" if kind == "reservation" else "the reason"
    return f"Please type {what}: an empty answer cannot be recorded."


def endorsement_text_too_long(limit: int, length: int) -> str:
    return (
        f"That is {length} characters; please keep it under {limit} (the record quotes it whole). Nothing was recorded."
    )


def _unanswered_lead(name: str, count: int) -> str:
    return (
        f"⚠️ {_count(count, 'comment')} on “{esc(name)}” have no answer yet. Delegates usually expect to know what "
        "became of their comments before they endorse: answer them with /answer and send them with /publish"
    )


def endorsement_unanswered(name: str, count: int) -> str:
    return (
        _unanswered_lead(name, count) + ", or open the endorsement anyway (at the command line: <code>--anyway</code>)."
    )


def looks_commented(title: str) -> str:
    return (
        f"📝 This file looks like a copy of “{esc(title)}” with Word comments or tracked changes, perhaps a "
        "delegate's sent by e-mail. Comments count when the delegates send them: ask them to send the file to the "
        "bot themselves (it reads their Word comments and tracked changes, and asks before sending any). "
        "If it is a revised draft, go on below."
    )


def endorsement_unanswered_routed(name: str, count: int) -> str:
    return (
        _unanswered_lead(name, count) + ". Nothing was opened. To open the endorsement anyway, send the same "
        "command with the word <code>anyway</code> at the end."
    )


def endorsement_closed_now(name: str) -> str:
    return (
        f"🔒 The endorsement of “{esc(name)}” is closed before its deadline: answers are no longer taken, and "
        "nobody is recorded as endorsing by silence. The record is on its way to you and the chairs."
    )


def endorsement_not_opened(name: str) -> str:
    return f"Endorsement of “{esc(name)}” was not opened. Nothing was changed."


def no_endorsement(name: str) -> str:
    return f"“{esc(name)}” has had no endorsement stage yet."


def not_an_endorser() -> str:
    return (
        "Endorsement is answered by the delegates of each sectoral body and by the national focal points; "
        "the Secretariat and the chairs see the answers with /status."
    )


def comments_during_endorsement(title: str) -> str:
    return (
        f"“{esc(title)}” is now being endorsed: comments are no longer taken. Use the endorsement message's buttons "
        "to endorse, endorse with a reservation (say what in it), or say you cannot endorse it."
    )


# How each refusal of a service is worded; its data are the function's arguments.
REFUSALS: dict[Reason, Callable[..., str]] = {
    Reason.ALREADY_ANSWERED: already_answered,
    Reason.COMMENT_WITHDRAWN: comment_withdrawn,
    Reason.OBSERVATION_REQUIRED: observation_required,
    Reason.ANSWER_NOT_IN_HAND: answer_not_in_hand,
    Reason.ANSWER_CARD_OUT_OF_DATE: answer_card_out_of_date,
    Reason.ANSWER_CHANGED_MEANWHILE: answer_changed_meanwhile,
    Reason.BAD_ANSWER_FILTER: bad_answer_filter,
    Reason.BAD_DISPOSITION: bad_disposition,
    Reason.ALREADY_OPEN: already_open,
    Reason.ALREADY_RECORDED: already_recorded,
    Reason.ALREADY_REGISTERED: already_registered,
    Reason.BAD_BODY_CODE: bad_body_code,
    Reason.NOT_YOUR_STATE: not_your_state,
    Reason.COMMENT_MERGED: comment_merged,
    Reason.WITHDRAWN_NOT_CLEARABLE: withdrawn_not_clearable,
    Reason.ALREADY_CLEARED: already_cleared,
    Reason.ALREADY_RETURNED: already_returned,
    Reason.NO_REVIEW_IN_PROGRESS: no_review_in_progress,
    Reason.MERGE_SAME: merge_same,
    Reason.NOTHING_TO_MERGE: nothing_to_merge,
    Reason.MERGE_OTHER_CLAUSE: merge_other_clause,
    Reason.BAD_CLEARANCE: bad_clearance,
    Reason.BAD_DAYS: bad_days,
    Reason.BAD_DEADLINE: bad_deadline,
    Reason.BAD_DURATION: bad_duration,
    Reason.BAD_EMAIL: bad_email,
    Reason.BAD_KIND: bad_kind,
    Reason.BAD_ROLE: bad_role,
    Reason.BAD_SCHEDULE: bad_schedule,
    Reason.BAD_STATE: bad_state,
    Reason.BAD_TIMEZONE: bad_timezone,
    Reason.CANNOT_REPLACE_OPEN: cannot_replace_open,
    Reason.CLAUSE_GONE: clause_gone,
    Reason.CLAUSE_NOT_ROUTED: clause_not_routed,
    Reason.COMMENT_GONE: comment_gone,
    Reason.COMMENT_INCOMPLETE: comment_incomplete,
    Reason.CONSULTATION_EXISTS: consultation_exists,
    Reason.STAGE_STILL_OPEN: stage_still_open,
    Reason.BAD_CORRECTION: bad_correction,
    Reason.NO_COMPARISON: no_comparison,
    Reason.ENDORSEMENT_BY_FOCAL: endorsement_by_focal,
    Reason.ENDORSEMENT_CLOSED: endorsement_closed_refusal,
    Reason.ENDORSEMENT_GONE: endorsement_gone,
    Reason.ENDORSEMENT_NOT_ROUTED: endorsement_not_routed,
    Reason.ENDORSEMENT_TEXT_REQUIRED: endorsement_text_required,
    Reason.ENDORSEMENT_TEXT_TOO_LONG: endorsement_text_too_long,
    Reason.ENDORSEMENT_UNANSWERED: endorsement_unanswered,
    Reason.NO_ENDORSEMENT: no_endorsement,
    Reason.NOT_AN_ENDORSER: not_an_endorser,
    Reason.COMMENTS_DURING_ENDORSEMENT: comments_during_endorsement,
    Reason.REVIEW_NEEDS_BODIES: review_needs_bodies,
    Reason.VERSION_IDENTICAL: version_identical,
    Reason.EARLIER_VERSION: earlier_version,
    Reason.WORD_FILE_REFUSED: word_file_refused,
    Reason.NO_ROUND_FOR_FILE: no_round_for_file,
    Reason.NOTHING_IN_FILE: nothing_in_file,
    Reason.NOTHING_PICKED: nothing_picked,
    Reason.TOO_MANY_TO_PICK: too_many_to_pick,
    Reason.VERSION_UNRELATED: version_unrelated,
    Reason.CSV_EMPTY: csv_empty,
    Reason.CSV_MISSING_COLUMNS: csv_missing_columns,
    Reason.DEADLINE_IN_PAST: deadline_in_past,
    Reason.EMPTY_TEXT: empty_text,
    Reason.FOCAL_HAS_NO_BODY: focal_has_no_body,
    Reason.INVITE_EXPIRED: invite_expired,
    Reason.INVITE_NEEDS_BODY_AND_STATE: invite_needs_body_and_state,
    Reason.INVITE_UNKNOWN: invite_unknown,
    Reason.INVITE_USED: invite_used,
    Reason.LATE_USAGE: late_usage,
    Reason.MATRIX_OF_ANOTHER: matrix_of_another,
    Reason.NOT_A_MATRIX: not_a_matrix,
    Reason.NOTHING_TO_CIRCULATE: nothing_to_circulate,
    Reason.NOT_FOR_ROLE: not_for_role,
    Reason.NO_DRAFT: no_draft,
    Reason.NOT_OPEN: not_open,
    Reason.NOT_REGISTERED: not_registered,
    Reason.NO_COMMENT_IN_PROGRESS: no_comment_in_progress,
    Reason.NO_CONSULTATIONS: no_consultations,
    Reason.NUDGE_NOT_YOURS: nudge_not_yours,
    Reason.NUDGE_TOO_SOON: nudge_too_soon,
    Reason.ONLY_DELEGATES_COMMENT: only_delegates_comment,
    Reason.ROUND_CLOSED: round_closed,
    Reason.ROUND_CLOSED_ALREADY: round_closed_already,
    Reason.ROUND_NOT_OPEN: round_not_open,
    Reason.ROUTE_NEEDS_BODIES: route_needs_bodies,
    Reason.SECTION_GONE: section_gone,
    Reason.TEXT_TOO_LONG: text_too_long,
    Reason.UNKNOWN_BODY: unknown_body,
    Reason.UNKNOWN_CLAUSE: unknown_clause,
    Reason.UNKNOWN_CONSULTATION: unknown_consultation,
    Reason.UNKNOWN_SECTIONS: unknown_sections,
    Reason.UNKNOWN_STATE: unknown_state,
    Reason.UPLOAD_GONE: upload_gone,
    Reason.UNKNOWN_NUMBER: unknown_number,
    Reason.WHICH_CONSULTATION: which_consultation,
}


def _quotable(value: object) -> object:
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, list | tuple):
        return [_quotable(v) for v in value[:12]]
    return value


def refusal(error: ServiceError) -> str:
    """A service's refusal, worded for the person who asked. What they typed is quoted
    shortened: a 4,000-character clause reference is not sent back whole."""
    if isinstance(error, CsvRowErrors):
        rows = "\n".join(f"line {line}: {refusal(row)}" for line, row in error.errors[:50])
        more = f"\n… and {len(error.errors) - 50} more" if len(error.errors) > 50 else ""
        return f"{len(error.errors)} row(s) could not be enrolled; nothing was changed.\n{rows}{more}"
    return REFUSALS[error.reason](**{key: _quotable(value) for key, value in error.data.items()})
