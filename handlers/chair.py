"""What chairs (and the Secretariat) see: who has and has not responded."""

from __future__ import annotations

import io

from telegram import InputFile, Update

from bot import callbacks as cb
from bot import texts
from bot.context import ClausebotContext
from bot.models import Consultation
from bot.rendering import RENDERER
from bot.services import reminders, rounds, status
from handlers import endorsement as endorsing
from handlers.common import answer, chat_of, drop_buttons, pressed, reply


async def _consultations(context: ClausebotContext) -> list[Consultation]:
    """The named consultation, or the rounds under way the actor sees (a Secretariat with
    only drafts still sees those)."""
    actor = context.me
    if context.args:
        return [await rounds.resolve_consultation(context.session, context.args[0], actor)]
    visible = await rounds.visible_consultations(context.session, actor)
    return [c for c in visible if c.status != "draft"] or (visible if actor.is_secretariat else [])


async def status_command(update: Update, context: ClausebotContext) -> None:
    actor = context.me
    consultations = await _consultations(context)
    if not consultations:
        await reply(update, texts.no_consultations(actor.is_secretariat))
        return
    for consultation in consultations:
        if await endorsing.status(update, context, consultation):
            continue
        report = await status.report_for(context.session, actor, consultation)
        await reply(update, texts.status_report(report, actor.tz, context.now()))


async def summary(update: Update, context: ClausebotContext) -> None:
    """The digest on demand: the chart, then the text (with the nudge button for chairs)."""
    actor = context.me
    consultations = await _consultations(context)
    if not consultations:
        await reply(update, texts.no_consultations(actor.is_secretariat))
        return
    for consultation in consultations:
        result = await reminders.summary_for(context.session, actor, consultation, now=context.now(), render=RENDERER)
        await chat_of(update).send_photo(
            InputFile(io.BytesIO(result.chart), filename="responses.png"), caption=result.caption
        )
        await reply(update, result.text, result.buttons)


async def nudge(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.Nudge)
    result = await reminders.nudge(
        context.session,
        context.me,
        data.consultation_id,
        data.body_id,
        now=context.now(),
        timing=context.timing,
        render=RENDERER,
    )
    await context.commit()
    context.wake_sender()
    await answer(update, texts.nudged_ack())
    await drop_buttons(update)
    await reply(update, texts.nudged(result.recipients, result.states))
