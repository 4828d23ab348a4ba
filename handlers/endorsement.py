"""The endorsement stage in chat: delegates and focal points answer the ballot; the Secretariat
and the chairs read the record."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from telegram import InputFile, Update

from bot import callbacks as cb
from bot import keyboards, texts
from bot.context import ClausebotContext
from bot.models import Consultation, StageKind
from bot.rendering import RENDERER
from bot.services import endorsements, rounds
from bot.services.errors import NotFound, Reason
from handlers.common import answer, chat_of, drop_buttons, pressed, replace, reply

# The answer each button gives.
KINDS = {"e": "endorse", "r": "reservation", "c": "cannot"}


async def press(update: Update, context: ClausebotContext) -> None:
    """Endorse at once; a reservation or a reason is asked for next."""
    data = pressed(update, cb.Endorse)
    kind = KINDS[data.kind]
    if kind == "endorse":
        done = await endorsements.answer(
            context.session,
            context.me,
            data.stage_id,
            kind,
            now=context.now(),
            render=RENDERER,
            zone=context.settings.timezone,
        )
        await context.commit()
        context.wake_sender()
        await answer(update, texts.ENDORSEMENT_ANSWERS["endorse"] if not done.same else None)
        await replace(update, texts.endorsement_recorded(done, context.me.tz), keyboards.ballot(done.ballot))
        return
    ballot = await endorsements.ask_text(context.session, context.me, data.stage_id, kind, now=context.now())
    await context.commit()
    await answer(update)
    await reply(update, texts.ask_endorsement_text(kind, ballot), keyboards.endorsement_text_step(data.stage_id))


async def cancel(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.EndorseCancel)
    await endorsements.cancel_step(context.session, context.me)
    await context.commit()
    ballot = await endorsements.ballot_for(context.session, context.me, data.stage_id, now=context.now())
    await answer(update)
    await replace(update, texts.ballot(ballot, context.me.tz), keyboards.ballot(ballot))


async def waiting(context: ClausebotContext) -> bool:
    """Whether the contact's next message is a reservation or a reason being asked for."""
    return await endorsements.waiting_step(context.session, context.me) is not None


async def typed(update: Update, context: ClausebotContext, text: str) -> None:
    """The reservation or reason asked for: recorded as the answer."""
    done = await endorsements.typed(
        context.session, context.me, text, now=context.now(), render=RENDERER, zone=context.settings.timezone
    )
    await context.commit()
    context.wake_sender()
    await reply(update, texts.endorsement_recorded(done, context.me.tz), keyboards.ballot(done.ballot))


async def record_file(update: Update, context: ClausebotContext) -> None:
    """The endorsement record as it stands (.docx), for the Secretariat and the chairs."""
    data = pressed(update, cb.EndorsementRecordFile)
    made = await endorsements.record_file(
        context.session, context.me, data.stage_id, now=context.now(), zone=context.settings.timezone
    )
    await answer(update)
    await chat_of(update).send_document(
        InputFile(io.BytesIO(made.data), filename=made.filename),
        caption=texts.endorsement_record_caption(made.tally, context.me.tz),
    )


async def draft_of(update: Update, context: ClausebotContext) -> None:
    """The version put up for endorsement, as its .docx."""
    data = pressed(update, cb.DraftOf)
    consultation = await rounds.resolve_consultation(context.session, str(data.consultation_id), context.me)
    found = await rounds.draft_file(context.session, context.me, consultation)
    await answer(update)
    await chat_of(update).send_document(
        InputFile(io.BytesIO(found.data), filename=found.filename), caption=texts.draft_caption(found)
    )


async def open_anyway(update: Update, context: ClausebotContext) -> None:
    """Open the endorsement the Secretariat was warned about (comments without an answer)."""
    data = pressed(update, cb.OpenEndorsement)
    consultation = await rounds.resolve_consultation(context.session, str(data.consultation_id), context.me)
    deadline = datetime.fromtimestamp(data.deadline * 60, tz=UTC)
    plan = rounds.StagePlan(kind=StageKind.ENDORSEMENT, silence=data.silence == "1", despite_unanswered=True)
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
    await context.commit()
    context.wake_sender()
    await context.rearm_timer()
    await answer(update)
    await drop_buttons(update)
    await reply(update, texts.opened_endorsement(opened, context.settings.tz))


async def open_not(update: Update, context: ClausebotContext) -> None:
    data = pressed(update, cb.OpenEndorsementNot)
    consultation = await rounds.resolve_consultation(context.session, str(data.consultation_id), context.me)
    await answer(update)
    await drop_buttons(update)
    await reply(update, texts.endorsement_not_opened(consultation.name))


async def status(update: Update, context: ClausebotContext, consultation: Consultation) -> bool:
    """/status of a consultation whose endorsement stage is open or closed last: its answers.
    False when the consultation is at another stage."""
    if consultation.kind != StageKind.ENDORSEMENT or consultation.stage.opened_at is None:
        return False
    try:
        tally = await endorsements.tally(context.session, context.me, consultation, now=context.now())
    except NotFound as exc:
        if exc.reason == Reason.NO_ENDORSEMENT:
            return False
        raise
    await reply(update, texts.endorsement_status(tally, context.me.tz), keyboards.endorsement_record(tally.stage_id))
    return True
