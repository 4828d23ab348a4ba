"""A new version of a draft, checked before it is stored: the Secretariat corrects the
doubtful matches of its clauses by message, then stores it."""

from __future__ import annotations

from telegram import Update

from bot import callbacks as cb
from bot import keyboards, texts
from bot.context import ClausebotContext
from bot.services import rounds
from bot.services.errors import NotFound, Reason
from handlers.common import answer, drop_buttons, pressed, reply


async def store_version(update: Update, context: ClausebotContext) -> None:
    """The new version checked (and corrected): store it with its mapping."""
    upload_id = pressed(update, cb.VersionStore).upload_id
    await answer(update)
    pending = await rounds.pending_version(context.session, context.me)
    if pending is None or pending.id != upload_id:
        raise NotFound(Reason.UPLOAD_GONE)
    await drop_buttons(update)
    outline = await rounds.confirm_upload(
        context.session,
        context.me,
        upload_id,
        replace_id=None,
        version_of_id=pending.version_of_id,
        max_bytes=context.settings.max_upload_bytes,
    )
    await context.commit()
    await reply(update, texts.upload_stored(outline))


async def correction(update: Update, context: ClausebotContext, text: str) -> None:
    """Corrections typed while a new version is being checked."""
    preview = await rounds.correct_version(
        context.session, context.me, text, max_bytes=context.settings.max_upload_bytes
    )
    await context.commit()
    assert preview.mapping is not None and preview.upload_id is not None
    await reply(
        update, texts.version_preview(preview), keyboards.version_preview(preview.upload_id, preview.mapping.version)
    )
