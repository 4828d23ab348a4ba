"""What a national focal point does in chat: review their state's comments and clear them."""

from __future__ import annotations

from telegram import Update

from bot import callbacks as cb
from bot import keyboards, texts
from bot.context import ClausebotContext
from bot.rendering import RENDERER
from bot.services import review
from bot.services.errors import Reason, ServiceError
from handlers.common import answer, drop_buttons, pressed, replace, reply


async def review_command(update: Update, context: ClausebotContext) -> None:
    """/review: the state's comments waiting, by section and body; each with its buttons,
    each group closed by a button that clears it all."""
    groups = await review.waiting(context.session, context.me)
    if not groups:
        await reply(update, texts.review_none())
        return
    await reply(update, texts.review_header(groups))
    for group in groups:
        await reply(update, texts.review_group(group))
        for item in group.items:
            await reply(update, texts.review_item(item), keyboards.review_item(item.id, bool(item.siblings)))
        await reply(
            update,
            texts.review_group_end(group),
            keyboards.review_group(group.section_id, group.body_id, group.last_id, len(group.items)),
        )


async def clear(update: Update, context: ClausebotContext) -> None:
    done = await review.clear(
        context.session, context.me, pressed(update, cb.ClearComment).comment_id, now=context.now()
    )
    await context.commit()
    await answer(update, texts.cleared_ack())
    await drop_buttons(update)
    await reply(update, texts.cleared(done))


async def clear_group(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.ClearGroup)
    count = await review.clear_group(
        context.session, context.me, data.section_id, data.body_id, data.last_id, now=context.now()
    )
    await context.commit()
    await answer(update, texts.cleared_ack() if count else None)
    await replace(update, texts.group_cleared(count))


async def ask_return(update: Update, context: ClausebotContext) -> None:
    comment_id = pressed(update, cb.ReturnComment).comment_id
    ref = await review.begin(context.session, context.me, comment_id, review.STEP_NOTE, now=context.now())
    await context.commit()
    await answer(update)
    await reply(update, texts.ask_return_note(ref), keyboards.review_step())


async def ask_edit(update: Update, context: ClausebotContext) -> None:
    comment_id = pressed(update, cb.EditForState).comment_id
    ref = await review.begin(context.session, context.me, comment_id, review.STEP_EDIT, now=context.now())
    current = next(
        (i.text for g in await review.waiting(context.session, context.me) for i in g.items if i.id == comment_id), ""
    )
    await context.commit()
    await answer(update)
    await reply(update, texts.ask_state_text(ref, current), keyboards.review_step())


async def typed(update: Update, context: ClausebotContext, text: str) -> None:
    """The note or the new text the step in hand waits for."""
    try:
        done = await review.finish(
            context.session,
            context.me,
            text,
            render=RENDERER,
            limit=context.settings.max_comment_chars,
            now=context.now(),
        )
    except ServiceError as exc:
        if exc.reason not in (Reason.EMPTY_TEXT, Reason.TEXT_TOO_LONG):
            # The comment was withdrawn, merged or handled by another focal point meanwhile:
            # the step is dropped, so the next message is not taken for it again.
            await context.session.rollback()
            await review.cancel_step(context.session, context.me)
            await context.commit()
        raise
    await context.commit()
    if done.told:
        context.wake_sender()
    await reply(update, texts.review_done(done))


async def waiting_for_text(context: ClausebotContext) -> bool:
    return await review.step_in_hand(context.session, context.me) is not None


async def cancel(update: Update, context: ClausebotContext) -> None:
    await review.cancel_step(context.session, context.me)
    await context.commit()
    if update.callback_query:
        await answer(update)
        await replace(update, texts.review_cancelled())
    else:
        await reply(update, texts.review_cancelled())


async def merge_pick(update: Update, context: ClausebotContext) -> None:
    comment_id = pressed(update, cb.MergePick).comment_id
    item, others = await review.merge_candidates(context.session, context.me, comment_id)
    await answer(update)
    await reply(
        update,
        texts.merge_choose(item.clause_ref),
        keyboards.merge_with(comment_id, [(o.id, texts.merge_label(o)) for o in others]),
    )


async def merge(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.MergeWith)
    merged = await review.merge(context.session, context.me, data.comment_id, data.other_id, now=context.now())
    await context.commit()
    await answer(update)
    await replace(update, texts.merged(merged), keyboards.review_item(merged.kept, False))
