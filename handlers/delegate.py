"""What delegates do: read sections and clauses, comment, review their comments."""

from __future__ import annotations

import io

from telegram import InputFile, Update

from bot import callbacks as cb
from bot import keyboards, texts
from bot.context import ClausebotContext
from bot.models import MessageAnchor
from bot.rendering import RENDERER
from bot.sender import markup
from bot.services import clearance, comments, registry, reminders, review, rounds, word_comments
from bot.services.comments import (
    STEP_KIND,
    STEP_PICK,
    STEP_PROPOSED,
    STEP_TEXT,
)
from bot.services.render import Rows
from documents.draft import normalise_ref
from handlers import answers as answering
from handlers import endorsement as endorsing
from handlers import focal
from handlers import versions as new_version
from handlers.common import answer, chat_of, drop_buttons, message_of, pressed, query_of, replace, reply, user_of

MY_COMMENTS_SHOWN = 30


# --- reading ------------------------------------------------------------------------------------------


async def draft(update: Update, context: ClausebotContext) -> None:
    """/draft [CONSULTATION]: the draft as a .docx, to read offline."""
    name = context.args[0] if context.args else None
    consultation = await rounds.resolve_consultation(context.session, name, context.me)
    found = await rounds.draft_file(context.session, context.me, consultation)
    await chat_of(update).send_document(
        InputFile(io.BytesIO(found.data), filename=found.filename), caption=texts.draft_caption(found)
    )


async def sections(update: Update, context: ClausebotContext) -> None:
    actor = context.me
    name = context.args[0] if context.args else None
    consultations = (
        [await rounds.resolve_consultation(context.session, name, actor)]
        if name
        else await rounds.visible_consultations(context.session, actor)
    )
    if not consultations:
        await reply(update, texts.no_consultations(actor.is_secretariat))
        return
    for consultation in consultations:
        items = await rounds.sections_for_actor(context.session, consultation, actor)
        rows = [(s.id, texts.section_button_label(s.ref, s.heading)) for s in items]
        await reply(
            update,
            texts.sections_list(consultation.title, consultation.deadline, actor.tz),
            keyboards.sections_menu(rows),
        )


async def show_section(update: Update, context: ClausebotContext) -> None:
    await answer(update)
    consultation, section = await rounds.section_for_actor(
        context.session, context.me, pressed(update, cb.ShowSection).section_id
    )
    parts = texts.section_parts(consultation.title, section, section.clauses)
    for index, (html, clause_ids) in enumerate(parts):
        clauses = [c for c in section.clauses if c.id in set(clause_ids)]
        buttons = keyboards.section_buttons(clauses, section.id, with_no_comments=index == len(parts) - 1)
        sent = await chat_of(update).send_message(html, reply_markup=markup(buttons))
        await comments.record_anchor(
            context.session, chat_of(update).id, sent.message_id, consultation.id, section.id, clause_ids
        )


async def clause(update: Update, context: ClausebotContext) -> None:
    if not context.args:
        await reply(update, texts.clause_usage())
        return
    consultation, section, found = await comments.find_clause_anywhere(context.session, context.me, context.args[0])
    sent = await chat_of(update).send_message(
        texts.clause_view(consultation.title, section.ref, section.heading, found),
        reply_markup=markup(keyboards.clause_buttons(found.id, found.ref, section.id, section.ref)),
    )
    await comments.record_anchor(
        context.session, chat_of(update).id, sent.message_id, consultation.id, section.id, [found.id]
    )


async def deadline(update: Update, context: ClausebotContext) -> None:
    actor = context.me
    consultations = await rounds.visible_consultations(context.session, actor)
    lead = context.timing.national_lead
    rows = [(c.title, c.status, c.deadline, clearance.national_deadline(c, lead)) for c in consultations]
    await reply(update, texts.deadlines(rows, actor.tz, context.now()))


# --- the comment flow ------------------------------------------------------------------------------------


def _prompt_for(view: comments.DraftView) -> tuple[str, Rows]:
    if view.step == STEP_KIND:
        return texts.ask_kind(view), keyboards.kinds()
    if view.step == STEP_TEXT:
        return texts.ask_text(view), keyboards.text_step()
    if view.step == STEP_PROPOSED:
        return texts.ask_proposed(view), keyboards.proposed(view.clause_text)
    return texts.preview(view), keyboards.preview(bool(view.proposed))


async def prompt(update: Update, view: comments.DraftView, *, in_place: bool = False) -> None:
    """Ask for whatever the comment being written needs next. After a button of the flow,
    the prompt is rewritten in place: one message, no stale buttons, less to download."""
    text, buttons = _prompt_for(view)
    if in_place:
        await replace(update, text, buttons)
    else:
        await reply(update, text, buttons)


async def comment_command(update: Update, context: ClausebotContext) -> None:
    text = message_of(update).text or ""
    parts = text.split(maxsplit=2)
    if len(parts) < 2:
        await reply(update, texts.comment_usage())
        return
    ref = parts[1]
    body = parts[2] if len(parts) > 2 else None
    view = await comments.comment_on_ref(
        context.session, context.me, ref, text=body, now=context.now(), limit=context.settings.max_comment_chars
    )
    await context.commit()
    await prompt(update, view)


async def start_on_clause(update: Update, context: ClausebotContext) -> None:
    clause_id = pressed(update, cb.CommentOn).clause_id
    view = await comments.start_comment(context.session, context.me, clause_id, now=context.now())
    await context.commit()
    await answer(update)
    await prompt(update, view)


async def pick(update: Update, context: ClausebotContext) -> None:
    view = await comments.pick_clause(
        context.session, context.me, pressed(update, cb.PickClause).clause_id, now=context.now()
    )
    await context.commit()
    await answer(update)
    await prompt(update, view, in_place=True)


async def choose_kind(update: Update, context: ClausebotContext) -> None:
    kind = pressed(update, cb.ChooseKind).kind
    view = await comments.set_kind(context.session, context.me, kind, now=context.now())
    await context.commit()
    await answer(update, texts.KIND_NAMES.get(kind))
    await prompt(update, view, in_place=True)


async def skip_proposed(update: Update, context: ClausebotContext) -> None:
    view = await comments.set_proposed(context.session, context.me, None, limit=context.settings.max_comment_chars)
    await context.commit()
    await answer(update)
    await prompt(update, view, in_place=True)


async def change_part(update: Update, context: ClausebotContext) -> None:
    part = pressed(update, cb.ChangePart).part
    step = {"text": STEP_TEXT, "prop": STEP_PROPOSED, "kind": STEP_KIND}[part]
    view = await comments.goto_step(context.session, context.me, step)
    await context.commit()
    await answer(update)
    await prompt(update, view, in_place=True)


async def send_comment(update: Update, context: ClausebotContext) -> None:
    actor = context.me
    pressed(update, cb.SendComment)
    prompt_message = query_of(update).message
    # One prompt, one comment: the same Send pressed twice is answered as the first was.
    source = (
        f"{actor.contact_id}:m{prompt_message.message_id}"
        if prompt_message
        else f"{actor.contact_id}:u{update.update_id}"
    )
    saved = await comments.submit(context.session, actor, source_key=source, now=context.now())
    digests = await review.queue_digests(
        context.session, saved.comment_id, render=RENDERER, timing=context.timing, now=context.now()
    )
    await context.commit()
    if digests:
        context.wake_sender()
    await answer(update, texts.sent_ack())
    await replace(update, texts.saved(saved))


async def cancel_comment(update: Update, context: ClausebotContext) -> None:
    if context.me.is_focal:
        await focal.cancel(update, context)
        return
    dropped = await comments.cancel_draft(context.session, context.me)
    await context.commit()
    text = texts.cancelled() if dropped else texts.nothing_to_cancel()
    if update.callback_query:
        await answer(update)
        await replace(update, text)
    else:
        await reply(update, text)


async def text_message(update: Update, context: ClausebotContext) -> None:
    """Plain text: the next part of the comment being written, a reply to a section, or a hint."""
    actor = context.me
    message = message_of(update)
    typed = message.text or ""
    if actor.is_secretariat and await answering.waiting_for_observation(context):
        await answering.observation_text(update, context, typed)
        return
    if actor.is_secretariat and await rounds.pending_version(context.session, actor) is not None:
        await new_version.correction(update, context, typed)
        return
    if await endorsing.waiting(context):
        await endorsing.typed(update, context, typed)
        return
    if actor.is_focal:
        if await focal.waiting_for_text(context):
            await focal.typed(update, context, typed)
        else:
            await reply(update, texts.focal_hint())
        return
    limit = context.settings.max_comment_chars
    view = await comments.current_draft(context.session, actor)
    if view is not None and view.step in (STEP_TEXT, STEP_PROPOSED):
        if view.step == STEP_TEXT:
            view = await comments.set_text(context.session, actor, typed, limit=limit, now=context.now())
        else:
            view = await comments.set_proposed(context.session, actor, typed, limit=limit, now=context.now())
        await context.commit()
        await prompt(update, view)
        return
    replied = message.reply_to_message
    if replied is not None:
        anchor = await comments.anchor_for(context.session, message.chat_id, replied.message_id)
        if anchor is not None and anchor.clause_ids:
            await _comment_by_reply(update, context, anchor, typed)
            return
    if view is not None:
        # Waiting for a button (type, clause or confirmation): ask again.
        await prompt(update, view) if view.step != STEP_PICK else await reply(update, texts.ask_pick([]))
        return
    if actor.is_secretariat:
        await reply(update, texts.help_for(actor.role))
    else:
        await reply(update, texts.hint_free_text())


async def _comment_by_reply(update: Update, context: ClausebotContext, anchor: MessageAnchor, text: str) -> None:
    actor = context.me
    limit = context.settings.max_comment_chars
    clause_ids = list(anchor.clause_ids)
    chosen = clause_ids[0] if len(clause_ids) == 1 else None
    body = text
    if chosen is None:
        # "2.3.1 text…" in a reply to a multi-clause message names the clause.
        first, _, rest = text.partition(" ")
        wanted = normalise_ref(first)
        for clause_id in clause_ids:
            found = await comments.clause_by_id(context.session, clause_id)
            if found.ref.lower() == wanted and rest.strip():
                chosen, body = clause_id, rest
                break
    if chosen is not None:
        view = await comments.start_comment(context.session, actor, chosen, text=body, now=context.now(), limit=limit)
        await context.commit()
        await prompt(update, view)
        return
    view = await comments.start_comment(
        context.session, actor, clause_ids[0], text=body, now=context.now(), limit=limit, step=STEP_PICK
    )
    await context.commit()
    refs = []
    for clause_id in clause_ids:
        found = await comments.clause_by_id(context.session, clause_id)
        refs.append((found.id, found.ref))
    await reply(update, texts.ask_pick([r for _, r in refs]), keyboards.pick_clause(refs))


# --- my comments ------------------------------------------------------------------------------------------


async def my_comments(update: Update, context: ClausebotContext) -> None:
    actor = context.me
    items = await comments.my_comments(context.session, actor, now=context.now())
    if not items:
        await reply(update, texts.no_my_comments())
        return
    await reply(update, texts.my_comments_header(len(items)))
    for item in items[-MY_COMMENTS_SHOWN:]:
        await reply(update, texts.my_comment(item, actor.tz), keyboards.my_comment(item.id) if item.editable else None)


async def edit_comment(update: Update, context: ClausebotContext) -> None:
    comment_id = pressed(update, cb.EditComment).comment_id
    view = await comments.edit_comment(context.session, context.me, comment_id, now=context.now())
    await context.commit()
    await answer(update)
    await prompt(update, view)


async def ask_withdraw(update: Update, context: ClausebotContext) -> None:
    item = await comments.comment_summary(context.session, context.me, pressed(update, cb.AskWithdraw).comment_id)
    await answer(update)
    await reply(update, texts.confirm_withdraw(item), keyboards.confirm_withdraw(item.id))


async def withdraw(update: Update, context: ClausebotContext) -> None:
    comment_id = pressed(update, cb.Withdraw).comment_id
    ref = await comments.withdraw_comment(context.session, context.me, comment_id, now=context.now())
    await context.commit()
    await answer(update, texts.withdrawn_ack())
    await replace(update, texts.withdrawn(ref))


async def keep(update: Update, context: ClausebotContext) -> None:
    pressed(update, cb.KeepComment)
    await answer(update, texts.kept())
    await drop_buttons(update)


# --- no comments on a section ------------------------------------------------------------------------------


async def no_comments(update: Update, context: ClausebotContext) -> None:
    section_id = pressed(update, cb.NoComments).section_id
    result = await comments.no_comments(context.session, context.me, section_id, now=context.now())
    await context.commit()
    await answer(update, texts.recorded_ack())
    await reply(update, texts.no_comments_recorded(result), keyboards.undo_no_comments(result.section_id))


async def undo_no_comments(update: Update, context: ClausebotContext) -> None:
    section_id = pressed(update, cb.UndoNoComments).section_id
    result = await comments.undo_no_comments(context.session, context.me, section_id, now=context.now())
    await context.commit()
    await answer(update)
    await drop_buttons(update)
    await reply(update, texts.no_comments_undone(result))


# --- reminders and time zone ---------------------------------------------------------------------------------


async def mute(update: Update, context: ClausebotContext) -> None:
    data = query_of(update).data or ""
    muting = data.startswith(cb.Mute.prefix + ":")
    consultation_id = (pressed(update, cb.Mute) if muting else pressed(update, cb.Unmute)).consultation_id
    title = await reminders.mute(context.session, context.me, consultation_id, muting)
    await context.commit()
    await answer(update)
    if muting:
        await reply(update, texts.muted(title), keyboards.unmute(consultation_id))
    else:
        await drop_buttons(update)
        await reply(update, texts.unmuted(title))


async def timezone(update: Update, context: ClausebotContext) -> None:
    wanted = context.args[0] if context.args else None
    name = await registry.set_timezone(context.session, context.me, wanted) if wanted else context.me.timezone
    await context.commit()
    if wanted:
        context.bot_data.actors.forget(user_of(update).id)
    await reply(update, texts.timezone_is(name))


# --- a delegate's own Word file ---------------------------------------------------------------------


async def word_file(update: Update, context: ClausebotContext, data: bytes, filename: str) -> None:
    """The draft sent back with Word comments and tracked changes: say what was found, and
    ask whose they are when several people wrote in it."""
    read = await word_comments.read_file(
        context.session, context.me, data, filename, max_bytes=context.settings.max_upload_bytes
    )
    await context.commit()
    if len(read.authors) > 1:
        await reply(update, texts.file_whose(read), keyboards.file_authors(read.upload_id, read.authors))
        return
    await _show_file(update, read, 0)


async def _show_file(update: Update, read: word_comments.FileRead, author: int) -> None:
    can_pick = len(read.items) <= word_comments.PICK_AT_MOST
    buttons = keyboards.file_send(read.upload_id, author, len(read.items), can_pick=can_pick) if read.items else None
    await reply(update, texts.file_read(read), buttons)


async def file_pick(update: Update, context: ClausebotContext) -> None:
    """The file's comments one by one, to choose which to send and each one's type."""
    toggle: int | None = None
    if (query_of(update).data or "").startswith(cb.FileToggle.prefix + ":"):
        pressed_toggle = pressed(update, cb.FileToggle)
        upload_id, author, toggle = pressed_toggle.upload_id, pressed_toggle.author, pressed_toggle.index
    else:
        pressed_pick = pressed(update, cb.FilePick)
        upload_id, author = pressed_pick.upload_id, pressed_pick.author
    await answer(update)
    authors = await _authors_of(context, upload_id, author)
    picked = await word_comments.pick(
        context.session, context.me, upload_id, authors, max_bytes=context.settings.max_upload_bytes, toggle=toggle
    )
    await context.commit()
    buttons = keyboards.file_pick(upload_id, author, [item.ref for item in picked.read.items], picked.choices)
    if toggle is None:
        await drop_buttons(update)
        await reply(update, texts.file_pick(picked), buttons)
    else:
        await replace(update, texts.file_pick(picked), buttons)


async def _authors_of(context: ClausebotContext, upload_id: int, author: int) -> tuple[str, ...] | None:
    """The author a button names (1 + their index in the file; 0: everyone)."""
    if author <= 0:
        return None
    everyone = await word_comments.read_for_authors(
        context.session, context.me, upload_id, None, max_bytes=context.settings.max_upload_bytes
    )
    if author > len(everyone.authors):
        return None
    return (everyone.authors[author - 1],)


async def file_author(update: Update, context: ClausebotContext) -> None:
    choice = pressed(update, cb.FileAuthor)
    await answer(update)
    await drop_buttons(update)
    authors = await _authors_of(context, choice.upload_id, choice.author)
    read = await word_comments.read_for_authors(
        context.session, context.me, choice.upload_id, authors, max_bytes=context.settings.max_upload_bytes
    )
    await _show_file(update, read, choice.author)


async def file_send(update: Update, context: ClausebotContext) -> None:
    choice = pressed(update, cb.FileSend)
    await answer(update)
    await drop_buttons(update)
    authors = await _authors_of(context, choice.upload_id, choice.author)
    sent = await word_comments.send_from_file(
        context.session,
        context.me,
        choice.upload_id,
        "picked" if choice.kind == "pk" else choice.kind,
        authors=authors,
        max_bytes=context.settings.max_upload_bytes,
        proposal_text=texts.FILE_PROPOSAL_TEXT,
        now=context.now(),
        limit=context.settings.max_comment_chars,
    )
    await context.commit()
    await reply(update, texts.file_sent(sent))


async def file_cancel(update: Update, context: ClausebotContext) -> None:
    choice = pressed(update, cb.FileCancel)
    await answer(update)
    await drop_buttons(update)
    await rounds.discard_upload(context.session, context.me, choice.upload_id)
    await context.commit()
    await reply(update, texts.file_cancelled())
