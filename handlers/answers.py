"""The Secretariat answers comments in chat, one at a time, and makes the answers known."""

from __future__ import annotations

from telegram import Update

from bot import callbacks as cb
from bot import keyboards, texts
from bot.context import ClausebotContext
from bot.rendering import RENDERER
from bot.services import answer_import, answers, rounds
from bot.services.answers import STEP_OBSERVATION, AnswerHistory, ToAnswer, WalkDone
from bot.services.errors import Reason, Refused, ServiceError
from handlers.common import answer, drop_buttons, message_of, pressed, query_of, replace, reply


def _card(shown: ToAnswer | WalkDone | AnswerHistory) -> tuple[str, keyboards.Rows | None]:
    if isinstance(shown, WalkDone):
        return texts.answers_done(shown), None
    if isinstance(shown, AnswerHistory):
        return texts.answer_history(shown), _history_buttons(shown)
    if shown.step == STEP_OBSERVATION:
        return texts.answer_card(shown), keyboards.answer_observation(
            shown.comment_id,
            optional=not shown.observation_required,
            changing=shown.changing,
            keep=shown.changing and shown.observation is not None,
        )
    return texts.answer_card(shown), keyboards.answer_choices(shown.comment_id, changing=shown.changing)


def _history_buttons(h: AnswerHistory) -> keyboards.Rows | None:
    if h.withdrawn:
        return None
    return keyboards.change_answer(h.comment_id, h.last_change, answered=h.disposition is not None)


def _with_card(head: str, shown: ToAnswer | WalkDone | AnswerHistory) -> tuple[str, keyboards.Rows | None]:
    """A line (what was done, or why not) above a card, as one message."""
    text, buttons = _card(shown)
    return head + "\n\n" + text, buttons


async def answer_command(update: Update, context: ClausebotContext) -> None:
    """/answer [CONSULTATION] [section | body | Member State | type]"""
    args = list(context.args or [])
    visible = await rounds.visible_consultations(context.session, context.me)
    names = {c.name.lower(): c for c in visible}
    name = args.pop(0) if args and args[0].lower() in names else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    flt = await answers.read_filter(context.session, consultation, args)
    shown = await answers.begin(context.session, context.me, consultation, flt, now=context.now())
    await context.commit()
    await reply(update, *_card(shown))


async def choose(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.AnswerWith)
    shown = await answers.choose(context.session, context.me, data.comment_id, data.disposition, now=context.now())
    await context.commit()
    await answer(update, texts.disposition_name(data.disposition))
    await replace(update, *_card(shown))


async def no_observation(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.AnswerNoObservation)
    await _complete(update, context, data.comment_id, None)


async def keep_observation(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.KeepObservation)
    await _complete(update, context, data.comment_id, None, keep=True)


async def observation_text(update: Update, context: ClausebotContext, text: str) -> None:
    """A message from an officer whose walk-through waits for an observation."""
    await _complete(update, context, None, text)


# Refusals after which the officer goes on: to the next comment in a walk-through, to the
# comment's card as it stands when changing one answer.
GO_ON = (Reason.ALREADY_ANSWERED, Reason.ANSWER_CHANGED_MEANWHILE, Reason.COMMENT_WITHDRAWN)


async def _complete(
    update: Update, context: ClausebotContext, comment_id: int | None, text: str | None, *, keep: bool = False
) -> None:
    try:
        done, shown = await answers.observe(context.session, context.me, comment_id, text, keep=keep, now=context.now())
    except Refused as refusal:
        # Answered meanwhile by another officer, or withdrawn: say so, and go on.
        await context.session.rollback()
        if refusal.reason not in GO_ON:
            raise
        await answer(update)
        await drop_buttons(update)
        after = await answers.begin_again(context.session, context.me, now=context.now())
        await context.commit()
        await reply(update, *_with_card(texts.refusal(refusal), after))
        return
    await context.commit()
    recorded = texts.answer_recorded(done)
    await answer(update, recorded)
    if isinstance(shown, AnswerHistory):
        # A change of one answer ends with the comment's card as it now stands, in its place.
        if update.callback_query:
            await replace(update, *_with_card(recorded, shown))
        else:
            await reply(update, *_with_card(recorded, shown))
        return
    # In a walk-through the answer just stored keeps a button to change it at once.
    again = None if done.same else keyboards.change_answer(done.comment_id, done.change_id, answered=True)
    if update.callback_query:
        await replace(update, recorded, again)
    else:
        await reply(update, recorded, again)
    await reply(update, *_card(shown))


async def change(update: Update, context: ClausebotContext) -> None:
    """✏️ on a comment's card: its answer is changed with the walk-through's steps."""
    data = pressed(update, cb.ChangeAnswer)
    try:
        shown = await answers.change(context.session, context.me, data.comment_id, data.seen, now=context.now())
    except Refused as refusal:
        # An old card: say so, and show the comment as it stands (with a button that works).
        await context.session.rollback()
        if refusal.reason != Reason.ANSWER_CARD_OUT_OF_DATE:
            raise
        await answer(update, texts.refusal(refusal))
        now = await answers.card(context.session, context.me, data.comment_id)
        await reply(update, *_with_card(texts.refusal(refusal), now))
        return
    await context.commit()
    await answer(update)
    await reply(update, *_card(shown))


async def cancel_change(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.CancelChange)
    shown = await answers.cancel_change(context.session, context.me, data.comment_id)
    await context.commit()
    await answer(update, texts.change_cancelled())
    await replace(update, *_card(shown))


async def later(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.AnswerLater)
    shown = await answers.skip(context.session, context.me, data.comment_id, now=context.now())
    await context.commit()
    await answer(update)
    await replace(update, *_card(shown))


async def stop(update: Update, context: ClausebotContext) -> None:
    pressed(update, cb.AnswerStop)
    progress = await answers.stop(context.session, context.me)
    await context.commit()
    await answer(update)
    await replace(update, texts.answers_stopped(progress))


async def publish(update: Update, context: ClausebotContext) -> None:
    """/publish [CONSULTATION]: each delegate is told what became of their comments."""
    name = context.args[0] if context.args else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    result = await answers.publish(context.session, context.me, consultation, render=RENDERER, now=context.now())
    await context.commit()
    context.wake_sender()
    await reply(update, texts.published(result))


async def history(update: Update, context: ClausebotContext) -> None:
    """/history [CONSULTATION] NUMBER: a comment's answer and every change of it."""
    args = list(context.args or [])
    if not args:
        await reply(update, texts.history_usage())
        return
    name = args[0] if len(args) > 1 else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    found = await answers.history_of_number(context.session, context.me, consultation, args[-1])
    await reply(update, *_card(found))


async def waiting_for_observation(context: ClausebotContext) -> bool:
    try:
        shown = await answers.resume(context.session, context.me)
    except ServiceError:
        return False
    return isinstance(shown, ToAnswer) and shown.step == STEP_OBSERVATION


# --- the matrix sent back, filled in ---------------------------------------------------------------------

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlsb")
OLD_SUFFIXES = (".xls", ".ods", ".csv")


def is_spreadsheet(filename: str, mime_type: str | None) -> bool:
    name = filename.lower()
    return name.endswith((".xlsx", *MACRO_SUFFIXES, *OLD_SUFFIXES)) or mime_type == XLSX_MIME


async def matrix_upload(update: Update, context: ClausebotContext, data: bytes, filename: str) -> None:
    """A comment matrix sent back: every row checked, the preview shown, nothing stored until
    the Secretariat taps Store."""
    caption = (message_of(update).caption or "").split()
    staged = await answer_import.stage(
        context.session, context.me, data, filename, consultation=caption[0] if caption else None
    )
    await context.commit()
    buttons = None
    if staged.upload_id is not None:
        buttons = keyboards.matrix_choices(staged.upload_id, staged.consultation_id, staged.preview.changes)
    await reply(update, texts.import_preview(staged.preview), buttons)


async def matrix_choice(update: Update, context: ClausebotContext) -> None:
    data = query_of(update).data or ""
    choice: cb.MatrixApply | cb.MatrixCancel
    if data.startswith(cb.MatrixCancel.prefix + ":"):
        choice = pressed(update, cb.MatrixCancel)
    else:
        choice = pressed(update, cb.MatrixApply)
    await answer(update)
    await drop_buttons(update)
    if isinstance(choice, cb.MatrixCancel):
        await rounds.discard_upload(context.session, context.me, choice.upload_id)
        await context.commit()
        await reply(update, texts.import_cancelled())
        return
    result = await answer_import.apply_staged(
        context.session, context.me, choice.upload_id, choice.consultation_id, now=context.now()
    )
    await context.commit()
    await reply(update, texts.import_preview(result))
