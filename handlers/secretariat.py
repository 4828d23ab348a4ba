"""What the Secretariat does in chat: drafts, invites, routing, rounds, consolidation."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time

from telegram import InputFile, Update
from telegram.error import TelegramError

from bot import callbacks as cb
from bot import keyboards, texts
from bot.context import ClausebotContext
from bot.models import StageKind
from bot.rendering import RENDERER
from bot.services import clearance, consolidation, endorsements, export, registry, rounds, timetable, word_comments
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from handlers import answers, delegate
from handlers.common import answer, chat_of, drop_buttons, message_of, pressed, query_of, reply

log = logging.getLogger(__name__)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- drafts ---------------------------------------------------------------------------------------------


async def upload(update: Update, context: ClausebotContext) -> None:
    document = message_of(update).document
    if document is None:
        return
    filename = document.file_name or "draft.docx"
    limit = context.settings.max_upload_bytes
    if document.file_size and document.file_size > limit:
        await reply(update, texts.upload_too_large(document.file_size, limit))
        return
    spreadsheet = answers.is_spreadsheet(filename, document.mime_type)
    if spreadsheet and not context.me.is_secretariat:
        await reply(update, texts.upload_only_secretariat())  # comment matrices come from the Secretariat
        return
    if spreadsheet and filename.lower().endswith(answers.MACRO_SUFFIXES):
        await reply(update, texts.matrix_with_macros(filename))
        return
    if spreadsheet and filename.lower().endswith(answers.OLD_SUFFIXES):
        await reply(update, texts.matrix_not_xlsx(filename))
        return
    # A delegate's .docm goes on to be refused for its macros, by name.
    word = (".docx",) if context.me.is_secretariat else (".docx", ".docm")
    if not spreadsheet and not filename.lower().endswith(word) and document.mime_type != DOCX_MIME:
        await reply(update, texts.upload_not_docx(filename))
        return
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    if not context.me.is_secretariat:
        # A delegate's (or focal point's) copy of the draft with their Word comments.
        await delegate.word_file(update, context, data, filename)
        return
    if spreadsheet:
        await answers.matrix_upload(update, context, data, filename)
        return
    # A delegate's commented copy forwarded by e-mail is told apart from a draft, and said so.
    copy_of = await word_comments.commented_copy_of(context.session, context.me, data, max_bytes=limit)
    upload_id, outline, replaceable, versionable = await rounds.stage_upload(
        context.session, context.me, data, filename, max_bytes=limit
    )
    await context.commit()
    lead = texts.looks_commented(copy_of) + "\n\n" if copy_of else ""
    await reply(
        update,
        lead + texts.outline(outline) + "\n\n" + texts.upload_confirm_prompt(bool(versionable)),
        keyboards.upload_choices(upload_id, replaceable, versionable),
    )


async def upload_choice(update: Update, context: ClausebotContext) -> None:
    data = query_of(update).data or ""
    choice: cb.UploadNew | cb.UploadReplace | cb.UploadVersion | cb.UploadCancel
    if data.startswith(cb.UploadCancel.prefix + ":"):
        choice = pressed(update, cb.UploadCancel)
    elif data.startswith(cb.UploadReplace.prefix + ":"):
        choice = pressed(update, cb.UploadReplace)
    elif data.startswith(cb.UploadVersion.prefix + ":"):
        choice = pressed(update, cb.UploadVersion)
    else:
        choice = pressed(update, cb.UploadNew)
    upload_id = choice.upload_id
    await answer(update)
    await drop_buttons(update)
    if isinstance(choice, cb.UploadCancel):
        await rounds.discard_upload(context.session, context.me, upload_id)
        await context.commit()
        await reply(update, texts.upload_cancelled())
        return
    replace_id = choice.consultation_id if isinstance(choice, cb.UploadReplace) else None
    version_of_id = choice.consultation_id if isinstance(choice, cb.UploadVersion) else None
    if version_of_id is not None:
        preview = await rounds.preview_version(
            context.session, context.me, upload_id, version_of_id, max_bytes=context.settings.max_upload_bytes
        )
        if preview.mapping is not None and preview.mapping.doubtful:
            # Matches to check: shown first, corrected by message, stored when the officer says.
            await context.commit()
            await reply(
                update, texts.version_preview(preview), keyboards.version_preview(upload_id, preview.mapping.version)
            )
            return
    outline = await rounds.confirm_upload(
        context.session,
        context.me,
        upload_id,
        replace_id=replace_id,
        version_of_id=version_of_id,
        max_bytes=context.settings.max_upload_bytes,
    )
    await context.commit()
    await reply(update, texts.upload_stored(outline))


async def consultations(update: Update, context: ClausebotContext) -> None:
    rows = [
        (c.name, c.title, c.status, c.deadline) for c in await rounds.visible_consultations(context.session, context.me)
    ]
    await reply(update, texts.consultations_list(rows, context.settings.tz))


# --- invites --------------------------------------------------------------------------------------------


async def invite(update: Update, context: ClausebotContext) -> None:
    args = list(context.args or [])
    if not args:
        await reply(update, texts.invite_usage())
        return
    role = registry.parse_role(args[0])
    body = state = None
    rest = args[1:]
    if role == "focal":
        # /invite focal Thailand [name]: a focal point speaks for a Member State, not a body.
        if not rest:
            raise InvalidInput(Reason.INVITE_NEEDS_BODY_AND_STATE, role=role)
        state, rest = await _take_state(context, rest, required=True)
    elif role != "secretariat":
        if not rest:
            raise InvalidInput(Reason.INVITE_NEEDS_BODY_AND_STATE, role=role)
        body, rest = rest[0], rest[1:]
        state, rest = await _take_state(context, rest, required=role == "delegate")
    issued = await registry.issue_invite(
        context.session,
        context.me,
        role=role,
        body=body,
        state=state,
        name=" ".join(rest),
        ttl_days=context.settings.invite_ttl_days,
        now=context.now(),
    )
    await context.commit()
    link = registry.invite_link(context.bot_data.bot_username or context.bot.username, issued.token)
    label = texts.author_label(issued.body_code, issued.state_name)
    await reply(
        update, texts.invite_created(link, issued.role, label, issued.name, issued.expires_at, context.settings.tz)
    )


async def _take_state(context: ClausebotContext, words: list[str], *, required: bool) -> tuple[str | None, list[str]]:
    """The longest leading run of words naming a Member State ("Viet Nam", "Lao PDR", "TH")."""
    states = await registry.list_states(context.session)
    names = {s.name.lower(): s.name for s in states} | {s.code.lower(): s.name for s in states}
    for size in range(min(4, len(words)), 0, -1):
        candidate = " ".join(words[:size]).lower()
        if candidate in names:
            return names[candidate], words[size:]
    if required:
        raise InvalidInput(Reason.UNKNOWN_STATE, name=" ".join(words[:2]) or "(none)", known=[s.name for s in states])
    return None, words


# --- routing and rounds ------------------------------------------------------------------------------------


async def route(update: Update, context: ClausebotContext) -> None:
    args = list(context.args or [])
    if not args:
        consultation = await rounds.resolve_consultation(context.session, None, context.me)
        await reply(update, texts.routing(consultation.name, await rounds.routing_table(context.session, consultation)))
        return
    if len(args) < 3:
        await reply(update, texts.route_usage())
        return
    consultation = await rounds.resolve_consultation(context.session, args[0], context.me)
    section_refs = [] if args[1].lower() == "all" else [r for r in args[1].split(",") if r]
    table = await rounds.set_routes(context.session, context.me, consultation, section_refs, args[2:])
    await context.commit()
    await reply(update, texts.routing(consultation.name, table))


def _split_open_args(
    args: list[str], names: frozenset[str] = frozenset()
) -> tuple[str | None, str | None, int | None, rounds.StagePlan]:
    """/open [CONSULTATION] [KIND [BODIES...] [all]] [DAYS | DATE]: the kind's word starts the
    stage part; after "review" (or "endorsement", which goes to every body without them) come
    the bodies it goes to, after "final" "all" circulates every clause rather than the changed
    ones, after "endorsement" "silence" makes it a silence procedure ("anyway": despite comments
    without an answer). A word among ``names``
    (the consultations' names, lower case) is the consultation wherever it stands."""
    name = deadline = None
    days = None
    kind = None
    bodies: list[str] = []
    all_clauses = False
    silence = anyway = False
    for arg in args:
        if re.fullmatch(r"[+-]?\d+", arg):
            if len(arg) > 6 or int(arg) < 0:
                raise InvalidInput(Reason.BAD_DAYS, days=arg)
            days = int(arg)
        elif arg[:4].isdigit() and "-" in arg:
            deadline = arg
        elif name is None and arg.lower() in names:
            name = arg
        elif kind is None and rounds.parse_stage_kind(arg) is not None:
            kind = rounds.parse_stage_kind(arg)
        elif kind == StageKind.FINAL and arg.lower() in ("all", "every"):
            all_clauses = True
        elif kind == StageKind.ENDORSEMENT and arg.lower() in ("silence", "silent"):
            silence = True
        elif kind == StageKind.ENDORSEMENT and arg.lower() == "anyway":
            anyway = True
        elif kind in (StageKind.REVIEW, StageKind.ENDORSEMENT):
            bodies += [code for code in arg.split(",") if code]
        else:
            name = arg
    return (
        name,
        deadline,
        days,
        rounds.StagePlan(
            kind=kind, bodies=tuple(bodies), all_clauses=all_clauses, silence=silence, despite_unanswered=anyway
        ),
    )


async def open_round(update: Update, context: ClausebotContext) -> None:
    names = frozenset(c.name.lower() for c in await rounds.visible_consultations(context.session, context.me))
    name, deadline_text, days, plan = _split_open_args(list(context.args or []), names)
    settings = context.settings
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    consultation_id = consultation.id
    deadline = rounds.parse_deadline(
        deadline_text, days=days if days is not None else settings.default_round_days, tz=settings.tz, now=context.now()
    )
    try:
        opened = await rounds.open_round(
            context.session,
            context.me,
            consultation,
            deadline,
            render=RENDERER,
            now=context.now(),
            timing=context.timing,
            plan=plan,
        )
    except Refused as exc:
        if exc.reason != Reason.ENDORSEMENT_UNANSWERED:
            raise
        # Warned, not refused: the Secretariat may go on.
        await context.session.rollback()
        if plan.bodies:
            # The button carries no routing: the command is sent again with "anyway".
            await reply(update, texts.endorsement_unanswered_routed(exc.data["name"], exc.data["count"]))
            return
        minutes = int(deadline.timestamp() // 60)
        await reply(
            update,
            texts.refusal(exc),
            keyboards.open_endorsement_anyway(consultation_id, minutes, plan.silence),
        )
        return
    await context.commit()
    context.wake_sender()
    await context.rearm_timer()
    if opened.kind == StageKind.ENDORSEMENT:
        await reply(update, texts.opened_endorsement(opened, settings.tz))
    else:
        await reply(update, texts.opened(opened, settings.tz))


async def stage(update: Update, context: ClausebotContext) -> None:
    name = context.args[0] if context.args else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    history = await rounds.stage_history(context.session, consultation)
    buttons = (
        keyboards.stage_buttons(consultation.id, [v.number for v in consultation.versions])
        if context.me.is_secretariat
        else None
    )
    await reply(update, texts.stage_history(history, context.settings.tz), buttons)


# Telegram takes files up to 50 MB from a bot.
SEND_LIMIT = 50 * 1024 * 1024


async def export_record(update: Update, context: ClausebotContext) -> None:
    """The whole record of the consultation as a zip."""
    data = pressed(update, cb.ExportRecord)
    consultation = await rounds.resolve_consultation(context.session, str(data.consultation_id), context.me)
    await answer(update, texts.export_working())
    done = await export.export_consultation(
        context.session, context.me, consultation, now=context.now(), timezone=context.settings.timezone
    )
    await context.commit()  # the comments' matrix numbers, as /consolidate gives them
    if len(done.data) > SEND_LIMIT:
        await reply(update, texts.export_too_big(len(done.data) / 1024 / 1024))
        return
    await chat_of(update).send_document(
        InputFile(io.BytesIO(done.data), filename=done.filename),
        caption=texts.export_caption(consultation.title, len(done.manifest)),
    )


async def compare_versions(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.CompareVersions)
    consultation = await rounds.resolve_consultation(context.session, str(data.consultation_id), context.me)
    await answer(update)
    made = await export.comparison(context.session, context.me, consultation, data.number)
    await chat_of(update).send_document(
        InputFile(io.BytesIO(made.data), filename=made.filename),
        caption=texts.comparison_caption(consultation.title, made.old, made.new),
    )


async def close_round(update: Update, context: ClausebotContext) -> None:
    name = context.args[0] if context.args else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    if consultation.kind == StageKind.ENDORSEMENT:
        # Closed before its deadline: the record goes out now, and nobody is taken to endorse by silence.
        await endorsements.close_now(
            context.session, context.me, consultation, now=context.now(), render=RENDERER, timing=context.timing
        )
    else:
        await rounds.close_round(context.session, context.me, consultation, now=context.now())
        await rounds.announce_close(context.session, consultation, context.timing, render=RENDERER, now=context.now())
    await context.commit()
    context.wake_sender()
    await context.rearm_timer()
    if consultation.kind == StageKind.ENDORSEMENT:
        await reply(update, texts.endorsement_closed_now(consultation.name))
    else:
        await reply(update, texts.closed(consultation.name))


def _name_and_value(args: list[str]) -> tuple[str | None, str | None]:
    """ "[CONSULTATION] VALUE": the value is the last word, a name may come before it."""
    if not args:
        return None, None
    if len(args) == 1:
        return None, args[0]
    return args[0], " ".join(args[1:])


async def extend(update: Update, context: ClausebotContext) -> None:
    name, value = _name_and_value(list(context.args or []))
    if value is None:
        await reply(update, texts.extend_usage())
        return
    settings = context.settings
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    days = None
    if re.fullmatch(r"[+-]?\d+", value):
        if len(value) > 6 or int(value) <= 0:
            raise InvalidInput(Reason.BAD_DAYS, days=value)
        days = int(value)
    deadline = rounds.extended_deadline(consultation, days=days, value=value, tz=settings.tz, now=context.now())
    told = await rounds.change_deadline(
        context.session, context.me, consultation, deadline, context.timing, render=RENDERER, now=context.now()
    )
    await context.commit()
    context.wake_sender()
    await context.rearm_timer()
    await reply(update, texts.deadline_changed(consultation.title, deadline, settings.tz, told))


async def late_comments(update: Update, context: ClausebotContext) -> None:
    name, value = _name_and_value(list(context.args or []))
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    if value is not None:
        if value.lower() not in ("on", "off"):
            raise InvalidInput(Reason.LATE_USAGE)
        await rounds.set_allow_late(context.session, context.me, consultation, value.lower() == "on")
    await context.commit()
    await reply(update, texts.late_comments(consultation.title, consultation.allow_late))


async def clearance_setting(update: Update, context: ClausebotContext) -> None:
    """/clearance [CONSULTATION] [off|advisory|required]: show or set the clearance by the
    national focal points."""
    args = list(context.args or [])
    value = args.pop() if args and args[-1].lower() in tuple(texts.CLEARANCE_MODES) else None
    if value is None and len(args) > 1:
        # Two words and the last is no setting: say what the settings are (nothing changes).
        raise InvalidInput(Reason.BAD_CLEARANCE, value=args[-1])
    try:
        consultation = await rounds.resolve_consultation(context.session, " ".join(args) or None, context.me)
    except NotFound as exc:
        if value is None and exc.reason == Reason.UNKNOWN_CONSULTATION:
            # One word that names neither a setting nor a consultation: most likely a setting mistyped.
            raise InvalidInput(Reason.BAD_CLEARANCE, value=args[-1]) from exc
        raise
    if value is None:
        await reply(update, texts.clearance_shown(consultation.title, clearance.mode_of(consultation)))
        return
    changed = await clearance.set_mode(context.session, context.me, consultation, value)
    await context.commit()
    await reply(update, texts.clearance_changed(changed))


async def reminder_plan(update: Update, context: ClausebotContext) -> None:
    args = list(context.args or [])
    everyone = None
    for word in list(args):
        if word.lower() in ("everyone", "nonresponders"):
            everyone = word.lower() == "everyone"
            args.remove(word)
    schedule = next((a for a in args if any(ch.isdigit() for ch in a)), None)
    name = next((a for a in args if a != schedule), None)
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    if schedule is not None or everyone is not None:
        await timetable.set_schedule(
            context.session,
            context.me,
            consultation,
            context.timing,
            schedule=schedule,
            everyone=everyone,
            now=context.now(),
        )
    jobs = await timetable.plan_of(context.session, consultation)
    await context.commit()
    await context.rearm_timer()
    await reply(
        update,
        texts.reminder_plan(
            consultation.title,
            timetable.schedule_of(consultation, context.timing),
            consultation.remind_everyone,
            jobs,
            context.settings.tz,
        ),
    )


# --- consolidation -------------------------------------------------------------------------------------


async def consolidate(update: Update, context: ClausebotContext) -> None:
    name = context.args[0] if context.args else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    data = await consolidation.gather(
        context.session, context.me, consultation, now=context.now(), timezone=context.settings.timezone
    )
    # Nothing else in this update needs the database: release the connection during the work.
    await context.session.commit()
    status = await chat_of(update).send_message(texts.consolidating(consultation.title))
    progress = _Progress()
    task = asyncio.create_task(consolidation.compile_outputs(data, progress.set))
    shown = -1
    while not task.done():
        await asyncio.wait({task}, timeout=2.0)
        fraction = progress.value
        if not task.done() and fraction is not None and int(fraction * 10) != shown:
            shown = int(fraction * 10)
            try:
                await status.edit_text(texts.consolidating(consultation.title, fraction))
            except TelegramError:
                pass
    try:
        outputs = task.result()
    except Exception:
        log.exception("consolidation of %s failed", consultation.name)
        await status.edit_text(texts.consolidation_failed())
        return
    names = consolidation.output_names(data)
    files = (outputs.consolidated, outputs.proposals, outputs.matrix)
    captions = (
        texts.consolidated(consultation.title, len(data.entries)),
        texts.with_proposals(sum(1 for e in data.entries if e.proposed)),
        texts.matrix_caption(len(data.entries)),
    )
    for content, name, caption in zip(files, names, captions, strict=True):
        await chat_of(update).send_document(InputFile(io.BytesIO(content), filename=name), caption=caption)
    try:
        await status.delete()
    except TelegramError:
        pass


class _Progress:
    """Written from the worker thread, read from the event loop."""

    def __init__(self) -> None:
        self.value: float | None = None
        self.at = time.monotonic()

    def set(self, fraction: float) -> None:
        self.value = fraction
