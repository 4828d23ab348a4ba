"""What chairs (and the Secretariat) see: who has and has not responded."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.context import ClausebotContext
from bot.services import rounds, status
from bot.services.errors import ServiceError
from handlers.common import now, reply


async def status_command(update: Update, context: ClausebotContext) -> None:
    actor = context.me
    name = context.args[0] if context.args else None
    try:
        if name:
            consultations = [await rounds.resolve_consultation(context.session, name, actor)]
        else:
            visible = await rounds.visible_consultations(context.session, actor)
            # Rounds under way first; a Secretariat with only drafts still sees them.
            consultations = [c for c in visible if c.status != "draft"] or (visible if actor.is_secretariat else [])
    except ServiceError as exc:
        await reply(update, str(exc))
        return
    if not consultations:
        await reply(update, texts.no_consultations(actor.is_secretariat))
        return
    body_id = None if actor.is_secretariat else actor.body_id
    for consultation in consultations:
        report = await status.status_report(context.session, consultation, body_id=body_id)
        await reply(update, texts.status_report(report, actor.tz, now()))
