"""The endorsement stage: each body's contact in each Member State endorses the version put
up for endorsement, endorses it with a reservation, or cannot endorse it.

* Who answers: a delegate answers for their body in their Member State (any delegate of
  that body and state; the last answer stands, earlier ones are kept); a focal point answers
  for the whole Member State, and their answer then speaks for every body of the state
  (its delegates are told, and cannot answer over it).
* An answer can be changed until the deadline; after it, nothing changes.
* Under the silence procedure a body and state that has not objected by the deadline is
  recorded as endorsing (by `documents.endorsement`, where the rule lives), every message of
  the stage says so, and an objection "breaks the silence": the Secretariat and the chairs
  concerned are told at once.
* At the deadline the stage closes and the endorsement record (.docx) goes to the
  Secretariat and the chairs; delegates are told the outcome.

The stage's messages (the ballot, reminders, the alerts) are worded by the edge's
`Renderer`; what is decided here is who is sent what, and what is recorded.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Body,
    Comment,
    CommentStatus,
    Consultation,
    Contact,
    Endorsement,
    EndorsementKind,
    EndorsementStep,
    MemberState,
    PlannedJob,
    ReminderMute,
    Role,
    RoundStatus,
    Stage,
    StageBody,
    StageKind,
)
from bot.services import outbox
from bot.services.errors import InvalidInput, NotFound, Reason, Refused
from bot.services.registry import Actor, require
from bot.services.render import Renderer
from bot.services.schedule import next_daytime
from bot.services.sql import dialect, table
from bot.services.timetable import Timing, contact_tz, plan_round
from documents import endorsement as record_doc

__all__ = [
    "Answered",
    "Ballot",
    "RecordFile",
    "Standing",
    "Tally",
    "answer",
    "ask_text",
    "ballot_for",
    "cancel_step",
    "close_at_deadline",
    "close_now",
    "endorsers",
    "record_file",
    "record_json",
    "remind",
    "stage_bodies_for",
    "stage_records",
    "tally",
    "typed",
    "unanswered_comments",
    "waiting_step",
]

# The answers a button or a typed reply can give; silence is never given, only recorded.
KINDS = frozenset(EndorsementKind)
WITH_TEXT = frozenset({EndorsementKind.RESERVATION, EndorsementKind.CANNOT})
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Standing:
    """The answer that stands for a body and Member State."""

    kind: str
    text: str
    by: str
    at: datetime
    for_state: bool  # given by the state's focal point for all its bodies


@dataclass(frozen=True)
class Ballot:
    """An endorsement stage as one contact sees it."""

    stage_id: int
    consultation_id: int
    name: str
    title: str
    version: str
    deadline: datetime | None
    silence: bool
    body: str | None  # the body answered for; None: the whole Member State (a focal point)
    state: str
    standing: Standing | None
    is_open: bool  # answers are still taken


@dataclass(frozen=True)
class Answered:
    ballot: Ballot
    before: Standing | None
    same: bool  # the answer was already this one: nothing changed
    breaks_silence: bool  # an objection under the silence procedure: the Secretariat was told
    alerted: int  # alert messages queued


# --- who answers for what ---------------------------------------------------------------------------


async def stage_bodies_for(session: AsyncSession, stage: Stage) -> list[Body]:
    """The bodies an endorsement stage asks: those it is routed to, else every body."""
    of_stage = select(StageBody.body_id).where(StageBody.stage_id == stage.id)
    query = select(Body).order_by(Body.code)
    if await session.scalar(select(of_stage.exists())):
        query = query.where(Body.id.in_(of_stage))
    return list(await session.scalars(query))


async def _states(session: AsyncSession) -> list[MemberState]:
    return list(await session.scalars(select(MemberState).order_by(MemberState.name)))


async def endorsers(session: AsyncSession, stage: Stage) -> list[Contact]:
    """Everyone the ballot goes to: the joined delegates of the stage's bodies and the joined
    focal points."""
    bodies = [b.id for b in await stage_bodies_for(session, stage)]
    return list(
        await session.scalars(
            select(Contact)
            .where(
                Contact.chat_id.is_not(None),
                Contact.state_id.is_not(None),
                ((Contact.role == Role.DELEGATE) & Contact.body_id.in_(bodies)) | (Contact.role == Role.FOCAL),
            )
            .order_by(Contact.id)
        )
    )


async def _stage_of(session: AsyncSession, stage_id: int) -> tuple[Consultation, Stage]:
    stage = await session.get(Stage, stage_id)
    consultation = await session.get(Consultation, stage.consultation_id) if stage is not None else None
    if stage is None or consultation is None or stage.kind != StageKind.ENDORSEMENT or stage.opened_at is None:
        raise NotFound(Reason.ENDORSEMENT_GONE)
    return consultation, stage


async def _answering_for(session: AsyncSession, actor: Actor, stage: Stage) -> int | None:
    """The body the actor answers for (None: their whole state, as its focal point)."""
    if actor.role == Role.FOCAL and actor.state_id is not None:
        return None
    if actor.role != Role.DELEGATE or actor.state_id is None or actor.body_id is None:
        raise Refused(Reason.NOT_AN_ENDORSER)
    if actor.body_id not in {b.id for b in await stage_bodies_for(session, stage)}:
        raise Refused(Reason.ENDORSEMENT_NOT_ROUTED, body=actor.body_code or "")
    return actor.body_id


def _standing(row: Endorsement | None) -> Standing | None:
    if row is None:
        return None
    return Standing(row.kind, row.text, row.by_name, row.answered_at, row.body_id is None)


async def _current(session: AsyncSession, stage_id: int, state_id: int, body_id: int | None) -> Endorsement | None:
    body = Endorsement.body_id.is_(None) if body_id is None else Endorsement.body_id == body_id
    return await session.scalar(
        select(Endorsement).where(
            Endorsement.stage_id == stage_id,
            Endorsement.state_id == state_id,
            body,
            Endorsement.replaced_at.is_(None),
        )
    )


async def _ballot(
    session: AsyncSession, actor: Actor, consultation: Consultation, stage: Stage, body_id: int | None, now: datetime
) -> Ballot:
    assert actor.state_id is not None
    state_answer = await _current(session, stage.id, actor.state_id, None)
    standing = state_answer if body_id is None or state_answer is not None else None
    if standing is None and body_id is not None:
        standing = await _current(session, stage.id, actor.state_id, body_id)
    version = next((v.label for v in consultation.versions if v.id == stage.version_id), "v?")
    return Ballot(
        stage.id,
        consultation.id,
        consultation.name,
        consultation.title,
        version,
        stage.deadline,
        stage.silence,
        actor.body_code if body_id is not None else None,
        actor.state_name or "",
        _standing(standing),
        _taking_answers(stage, now),
    )


def _taking_answers(stage: Stage, now: datetime) -> bool:
    return stage.status == RoundStatus.OPEN and (stage.deadline is None or now < stage.deadline)


def _refuse_if_closed(consultation: Consultation, stage: Stage, now: datetime) -> None:
    if _taking_answers(stage, now):
        return
    if stage.status == RoundStatus.DRAFT:
        raise Refused(Reason.ENDORSEMENT_GONE)
    raise Refused(
        Reason.ENDORSEMENT_CLOSED,
        title=consultation.title,
        deadline=stage.deadline,
        closed_at=stage.closed_at,
        silence=stage.silence,
    )


async def ballot_for(session: AsyncSession, actor: Actor, stage_id: int, *, now: datetime) -> Ballot:
    """The stage as the actor answers it, with the answer that stands for them."""
    consultation, stage = await _stage_of(session, stage_id)
    body_id = await _answering_for(session, actor, stage)
    return await _ballot(session, actor, consultation, stage, body_id, now)


async def _lock_stage(session: AsyncSession, stage_id: int) -> None:
    """Two answers for one stage at once take turns (SQLite locks from the first write)."""
    if dialect(session) == "sqlite":
        stages = table(Stage)
        await session.execute(update(stages).where(stages.c.id == stage_id).values(id=stages.c.id))
    else:
        await session.execute(select(Stage.id).where(Stage.id == stage_id).with_for_update())


def _clean(text: str | None) -> str:
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in (text or ""))
    return cleaned.strip()


async def answer(
    session: AsyncSession,
    actor: Actor,
    stage_id: int,
    kind: str,
    text: str | None = None,
    *,
    now: datetime,
    render: Renderer,
    zone: str = "UTC",
) -> Answered:
    """Record (or change) the actor's answer. A reservation or a reason needs its text."""
    if kind not in KINDS:
        raise InvalidInput(Reason.ENDORSEMENT_GONE)
    chosen = EndorsementKind(kind)
    words = _clean(text) if chosen in WITH_TEXT else ""
    if chosen in WITH_TEXT and not words:
        raise InvalidInput(Reason.ENDORSEMENT_TEXT_REQUIRED, kind=chosen.value)
    if len(words) > TEXT_LIMIT:
        raise InvalidInput(Reason.ENDORSEMENT_TEXT_TOO_LONG, limit=TEXT_LIMIT, length=len(words))
    consultation, stage = await _stage_of(session, stage_id)
    body_id = await _answering_for(session, actor, stage)
    _refuse_if_closed(consultation, stage, now)
    await _lock_stage(session, stage.id)
    assert actor.state_id is not None
    if body_id is not None:
        by_state = await _current(session, stage.id, actor.state_id, None)
        if by_state is not None:
            raise Refused(
                Reason.ENDORSEMENT_BY_FOCAL,
                state=actor.state_name or "",
                by=by_state.by_name,
                kind=by_state.kind,
            )
    row = await _current(session, stage.id, actor.state_id, body_id)
    before = _standing(row)
    if row is not None and row.kind == chosen.value and row.text == words:
        await session.execute(delete(EndorsementStep).where(EndorsementStep.contact_id == actor.contact_id))
        ballot = await _ballot(session, actor, consultation, stage, body_id, now)
        return Answered(ballot, before, True, False, 0)
    if row is not None:
        row.replaced_at = now
        await session.flush()
    session.add(
        Endorsement(
            stage_id=stage.id,
            body_id=body_id,
            state_id=actor.state_id,
            contact_id=actor.contact_id or None,
            by_name=actor.name,
            kind=chosen.value,
            text=words,
            answered_at=now,
        )
    )
    await session.execute(delete(EndorsementStep).where(EndorsementStep.contact_id == actor.contact_id))
    await session.flush()
    ballot = await _ballot(session, actor, consultation, stage, body_id, now)
    breaks = stage.silence and chosen == EndorsementKind.CANNOT and (before is None or before.kind != chosen.value)
    alerted = 0
    if breaks:
        alerted = await _alert_silence_broken(
            session, consultation, stage, actor, ballot, body_id, now=now, render=render, zone=zone
        )
    return Answered(ballot, before, False, breaks, alerted)


async def _alert_silence_broken(
    session: AsyncSession,
    consultation: Consultation,
    stage: Stage,
    actor: Actor,
    ballot: Ballot,
    body_id: int | None,
    *,
    now: datetime,
    render: Renderer,
    zone: str,
) -> int:
    """The Secretariat and the chairs of the body concerned (of every body of the stage, for a
    state's answer) are told at once that the silence is broken."""
    bodies = [body_id] if body_id is not None else [b.id for b in await stage_bodies_for(session, stage)]
    recipients = list(
        await session.scalars(
            select(Contact)
            .where(
                Contact.chat_id.is_not(None),
                (Contact.role == Role.SECRETARIAT) | ((Contact.role == Role.CHAIR) & Contact.body_id.in_(bodies)),
            )
            .order_by(Contact.id)
        )
    )
    assert ballot.standing is not None
    queued = 0
    count = await session.scalar(select(func.count()).select_from(Endorsement).where(Endorsement.stage_id == stage.id))
    for contact in recipients:
        tz = contact_tz(contact, zone)
        queued += await outbox.enqueue(
            session,
            key=f"silence:{stage.id}:{count}:{contact.id}",
            kind="alert",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.silence_broken(ballot, tz),
                buttons=render.endorsement_record_buttons(stage.id),
                consultation_id=consultation.id,
            ),
            now=now,
        )
    return queued


async def ask_text(session: AsyncSession, actor: Actor, stage_id: int, kind: str, *, now: datetime) -> Ballot:
    """The actor chose an answer that needs its text: the next message they send is it."""
    if kind not in WITH_TEXT:
        raise InvalidInput(Reason.ENDORSEMENT_GONE)
    consultation, stage = await _stage_of(session, stage_id)
    body_id = await _answering_for(session, actor, stage)
    _refuse_if_closed(consultation, stage, now)
    ballot = await _ballot(session, actor, consultation, stage, body_id, now)
    if body_id is not None and ballot.standing is not None and ballot.standing.for_state:
        raise Refused(
            Reason.ENDORSEMENT_BY_FOCAL,
            state=actor.state_name or "",
            by=ballot.standing.by,
            kind=ballot.standing.kind,
        )
    step = await session.get(EndorsementStep, actor.contact_id)
    if step is None:
        session.add(EndorsementStep(contact_id=actor.contact_id, stage_id=stage.id, kind=kind, updated_at=now))
    else:
        step.stage_id, step.kind, step.updated_at = stage.id, kind, now
    await session.flush()
    return ballot


async def waiting_step(session: AsyncSession, actor: Actor) -> EndorsementStep | None:
    """The reservation or reason the actor is about to type, if any."""
    if not actor.contact_id:
        return None
    return await session.get(EndorsementStep, actor.contact_id)


async def cancel_step(session: AsyncSession, actor: Actor) -> bool:
    step = await waiting_step(session, actor)
    if step is None:
        return False
    await session.delete(step)
    await session.flush()
    return True


async def typed(
    session: AsyncSession, actor: Actor, text: str, *, now: datetime, render: Renderer, zone: str = "UTC"
) -> Answered:
    """The reservation or reason the actor was asked for: recorded as their answer."""
    step = await waiting_step(session, actor)
    if step is None:
        raise NotFound(Reason.ENDORSEMENT_GONE)
    return await answer(session, actor, step.stage_id, step.kind, text, now=now, render=render, zone=zone)


# --- the record -------------------------------------------------------------------------------------


async def _record(
    session: AsyncSession, consultation: Consultation, stage: Stage, *, now: datetime, zone: str
) -> record_doc.EndorsementRecord:
    bodies = await stage_bodies_for(session, stage)
    states = await _states(session)
    body_code = {b.id: b.code for b in bodies}
    rows = list(
        await session.scalars(
            select(Endorsement)
            .where(Endorsement.stage_id == stage.id)
            .order_by(Endorsement.answered_at, Endorsement.id)
        )
    )
    # Each pair's answers in order, the state's answers given on every pair it covers.
    own: dict[tuple[int, int], list[Endorsement]] = {}
    of_state: dict[int, list[Endorsement]] = {}
    for row in rows:
        if row.body_id is None:
            of_state.setdefault(row.state_id, []).append(row)
        elif row.body_id in body_code:
            own.setdefault((row.body_id, row.state_id), []).append(row)
    answers: list[record_doc.PairAnswer] = []
    for body in bodies:
        for state in states:
            given = sorted(
                own.get((body.id, state.id), []) + of_state.get(state.id, []), key=lambda r: (r.answered_at, r.id)
            )
            if not given:
                continue
            standing = next((r for r in reversed(given) if r.body_id is None and r.replaced_at is None), None)
            standing = standing or next((r for r in reversed(given) if r.replaced_at is None), given[-1])
            earlier = tuple(
                record_doc.EarlierAnswer(
                    record_doc.AnswerKind(r.kind), r.answered_at, r.text, r.by_name, r.body_id is None
                )
                for r in given
                if r is not standing and r.answered_at <= standing.answered_at
            )
            answers.append(
                record_doc.PairAnswer(
                    body.code,
                    state.name,
                    record_doc.AnswerKind(standing.kind),
                    standing.text,
                    standing.by_name,
                    standing.answered_at,
                    standing.body_id is None,
                    earlier,
                )
            )
    joined = set(
        (
            await session.execute(
                select(Contact.body_id, Contact.state_id).where(
                    Contact.role == Role.DELEGATE, Contact.chat_id.is_not(None)
                )
            )
        ).all()
    )
    # A state's focal point receives the ballot for all its bodies: through them every pair of
    # the state was reached.
    focal_states = set(
        await session.scalars(select(Contact.state_id).where(Contact.role == Role.FOCAL, Contact.chat_id.is_not(None)))
    )
    not_enrolled = tuple(
        (b.code, s.name) for b in bodies for s in states if (b.id, s.id) not in joined and s.id not in focal_states
    )
    version = next((v.label for v in consultation.versions if v.id == stage.version_id), "v?")
    assert stage.opened_at is not None and stage.deadline is not None
    return record_doc.EndorsementRecord(
        title=consultation.title,
        consultation=consultation.name,
        version=version,
        window=record_doc.StageWindow(stage.opened_at, stage.deadline, stage.closed_at, zone),
        silence_procedure=stage.silence,
        bodies=tuple(body_code[b.id] for b in bodies),
        states=tuple(s.name for s in states),
        compiled_at=now,
        answers=tuple(answers),
        not_enrolled=not_enrolled,
    )


@dataclass(frozen=True)
class Tally:
    name: str
    title: str
    version: str
    stage_id: int
    deadline: datetime | None
    silence: bool
    result: record_doc.EndorsementResult


def _endorsement_stage(consultation: Consultation) -> Stage:
    for stage in reversed(consultation.stages):
        if stage.kind == StageKind.ENDORSEMENT and stage.opened_at is not None:
            return stage
    raise NotFound(Reason.NO_ENDORSEMENT, name=consultation.name)


def _may_see_record(actor: Actor) -> None:
    if actor.role not in (Role.SECRETARIAT, Role.CHAIR):
        raise Refused(Reason.NOT_AN_ENDORSER)


async def tally(session: AsyncSession, actor: Actor, consultation: Consultation, *, now: datetime) -> Tally:
    """Where the last endorsement stage stands (provisional until its deadline)."""
    _may_see_record(actor)
    stage = _endorsement_stage(consultation)
    record = await _record(session, consultation, stage, now=now, zone="UTC")
    return Tally(
        consultation.name,
        consultation.title,
        record.version,
        stage.id,
        stage.deadline,
        stage.silence,
        record_doc.endorsement_outcome(record),
    )


@dataclass(frozen=True)
class RecordFile:
    filename: str
    data: bytes
    tally: Tally


async def record_file(session: AsyncSession, actor: Actor, stage_id: int, *, now: datetime, zone: str) -> RecordFile:
    """The endorsement record of a stage as a .docx (provisional while the stage is open)."""
    _may_see_record(actor)
    consultation, stage = await _stage_of(session, stage_id)
    return await _record_file(session, consultation, stage, now=now, zone=zone)


async def _record_file(
    session: AsyncSession, consultation: Consultation, stage: Stage, *, now: datetime, zone: str
) -> RecordFile:
    record = await _record(session, consultation, stage, now=now, zone=zone)
    data = await asyncio.to_thread(record_doc.endorsement_record_docx, record)
    result = record_doc.endorsement_outcome(record)
    return RecordFile(
        f"{consultation.name}-endorsement-{record.version}.docx",
        data,
        Tally(
            consultation.name,
            consultation.title,
            record.version,
            stage.id,
            stage.deadline,
            stage.silence,
            result,
        ),
    )


async def record_json(
    session: AsyncSession, consultation: Consultation, *, now: datetime, zone: str
) -> list[dict[str, Any]]:
    """Every endorsement stage's record, as JSON-ready dicts (for the export)."""
    records = []
    for stage in consultation.stages:
        if stage.kind == StageKind.ENDORSEMENT and stage.opened_at is not None and stage.deadline is not None:
            record = await _record(session, consultation, stage, now=now, zone=zone)
            records.append(record_doc.endorsement_record_json(record))
    return records


async def stage_records(
    session: AsyncSession, consultation: Consultation, *, now: datetime, zone: str
) -> list[RecordFile]:
    """The record of every endorsement stage the consultation has opened, as .docx (for the
    export)."""
    return [
        await _record_file(session, consultation, stage, now=now, zone=zone)
        for stage in consultation.stages
        if stage.kind == StageKind.ENDORSEMENT and stage.opened_at is not None and stage.deadline is not None
    ]


# --- the timetable: reminders, the deadline -------------------------------------------------------------


async def remind(
    session: AsyncSession,
    consultation: Consultation,
    job: PlannedJob,
    timing: Timing,
    *,
    now: datetime,
    render: Renderer,
) -> int:
    """Remind the contacts of every body and state that has not answered (under the silence
    procedure too: the reminder says that no answer is needed to endorse)."""
    stage = consultation.stage
    if stage.deadline is None:
        return 0
    answered = {
        (body_id, state_id)
        for body_id, state_id in await session.execute(
            select(Endorsement.body_id, Endorsement.state_id).where(
                Endorsement.stage_id == stage.id, Endorsement.replaced_at.is_(None)
            )
        )
    }
    by_state = {state_id for body_id, state_id in answered if body_id is None}
    muted = set(
        await session.scalars(select(ReminderMute.contact_id).where(ReminderMute.consultation_id == consultation.id))
    )
    queued = 0
    for contact in await endorsers(session, stage):
        if contact.state_id in by_state or contact.unreachable_at is not None or contact.id in muted:
            continue
        if contact.role == Role.DELEGATE and (contact.body_id, contact.state_id) in answered:
            continue
        if contact.role == Role.FOCAL and any(s == contact.state_id for _, s in answered):
            continue  # some of the state's bodies have answered: the focal point is not chased
        tz = contact_tz(contact, timing.default_tz)
        at = next_daytime(now, tz, timing.quiet_hours)
        if at >= stage.deadline:
            continue
        actor = _actor_of(contact)
        ballot = await _ballot(
            session, actor, consultation, stage, actor.body_id if contact.role == Role.DELEGATE else None, now
        )
        queued += await outbox.enqueue(
            session,
            key=f"erem:{job.id}:{contact.id}",
            kind="reminder",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.endorsement_reminder(ballot, tz),
                buttons=render.ballot_buttons(ballot),
                consultation_id=consultation.id,
            ),
            now=now,
            not_before=at,
            expires_at=stage.deadline,
        )
    return queued


def _actor_of(contact: Contact) -> Actor:
    return Actor(
        contact_id=contact.id,
        name=contact.name,
        role=Role(contact.role),
        body_id=contact.body_id,
        body_code=contact.body.code if contact.body else None,
        state_id=contact.state_id,
        state_name=contact.state.name if contact.state else None,
        timezone=contact.timezone or (contact.state.timezone if contact.state else "UTC"),
        chat_id=contact.chat_id,
    )


async def ballots(
    session: AsyncSession, consultation: Consultation, contact: Contact, *, now: datetime, render: Renderer, key: str
) -> list[outbox.Queued]:
    """The ballot the stage circulates to one contact (none if they are not asked)."""
    stage = consultation.stage
    if contact.chat_id is None or contact.state_id is None:
        return []
    if contact.role == Role.DELEGATE:
        if contact.body_id not in {b.id for b in await stage_bodies_for(session, stage)}:
            return []
        body_id: int | None = contact.body_id
    elif contact.role == Role.FOCAL:
        body_id = None
    else:
        return []
    ballot = await _ballot(session, _actor_of(contact), consultation, stage, body_id, now)
    tz = contact_tz(contact)
    return [
        outbox.Queued(
            key=f"ballot:{key}:{contact.id}",
            kind="intro",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.ballot(ballot, tz),
                buttons=render.ballot_buttons(ballot),
                consultation_id=consultation.id,
            ),
        )
    ]


async def close_at_deadline(
    session: AsyncSession, consultation: Consultation, *, now: datetime, render: Renderer, zone: str
) -> int:
    """The deadline of the endorsement stage has come: close it (at the deadline, however late
    the bot noticed), and send the record to the Secretariat and the chairs, the outcome to
    everyone asked. Returns how many messages were queued; nothing if it is closed already."""
    stage = consultation.stage
    if stage.kind != StageKind.ENDORSEMENT or stage.status != RoundStatus.OPEN:
        return 0
    stage.status = RoundStatus.CLOSED
    stage.closed_at = min(now, stage.deadline) if stage.deadline is not None else now
    await session.flush()
    made = await _record_file(session, consultation, stage, now=now, zone=zone)
    document = base64.b64encode(made.data).decode("ascii")
    bodies = [b.id for b in await stage_bodies_for(session, stage)]
    readers = list(
        await session.scalars(
            select(Contact)
            .where(
                Contact.chat_id.is_not(None),
                (Contact.role == Role.SECRETARIAT) | ((Contact.role == Role.CHAIR) & Contact.body_id.in_(bodies)),
            )
            .order_by(Contact.id)
        )
    )
    queued = 0
    for contact in readers:
        queued += await outbox.enqueue(
            session,
            key=f"erecord:{stage.id}:{contact.id}",
            kind="summary",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.endorsement_record_caption(made.tally, contact_tz(contact, zone)),
                consultation_id=consultation.id,
                document=document,
                filename=made.filename,
            ),
            now=now,
        )
    pairs = {(p.body, p.state): p for p in made.tally.result.pairs}
    for contact in await endorsers(session, stage):
        body = contact.body.code if contact.body else ""
        state = contact.state.name if contact.state else ""
        if contact.role == Role.DELEGATE:
            pair = pairs.get((body, state))
            kind = pair.kind.value if pair is not None else record_doc.AnswerKind.NONE.value
        else:
            kind = ""
        queued += await outbox.enqueue(
            session,
            key=f"eclosed:{stage.id}:{contact.id}",
            kind="closed",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.endorsement_closed(made.tally, kind, f"{body} – {state}"),
                consultation_id=consultation.id,
            ),
            now=now,
        )
    return queued


async def close_now(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, now: datetime, render: Renderer, timing: Timing
) -> int:
    """The Secretariat closes the endorsement before its deadline (`/close`)."""
    require(actor, Role.SECRETARIAT)
    if consultation.kind != StageKind.ENDORSEMENT or consultation.status != RoundStatus.OPEN:
        raise Refused(Reason.NOT_OPEN, name=consultation.name)
    queued = await close_at_deadline(session, consultation, now=now, render=render, zone=timing.default_tz)
    await plan_round(session, consultation, timing, now=now)  # what was still planned is dropped
    return queued


# --- before opening -----------------------------------------------------------------------------------


async def unanswered_comments(session: AsyncSession, consultation: Consultation) -> int:
    """Comments of the consultation's stages so far that have no answer yet."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.consultation_id == consultation.id,
                Comment.status == CommentStatus.ACTIVE,
                Comment.disposition.is_(None),
            )
        )
        or 0
    )
