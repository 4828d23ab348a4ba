"""What the timetable sends when it falls due: reminders to delegates, digests and milestone
summaries to chairs and the Secretariat; chairs' nudges and delegates' muting.

The planned jobs live in the database (`timetable`); a timer only asks `fire_due` to look at
them. Everything is driven by the `now` passed in, so a round can be played in compressed time.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Clause,
    Clearance,
    ClearanceState,
    Comment,
    CommentStatus,
    Consultation,
    Contact,
    MemberState,
    Nudge,
    Outbox,
    OutboxStatus,
    PlannedJob,
    ReminderMute,
    Role,
    RoundStatus,
    Section,
    SectionResponse,
    StageKind,
)
from bot.services import clearance, endorsements, outbox
from bot.services.errors import NotFound, Reason, Refused
from bot.services.registry import Actor, require
from bot.services.render import Renderer, Rows
from bot.services.rounds import (
    bodies_taking_part,
    sections_for_body,
    sections_of,
    visible_consultations,
)
from bot.services.schedule import next_daytime
from bot.services.sql import dialect
from bot.services.status import StatusReport, status_report
from bot.services.timetable import DONE, PENDING, SKIPPED, Timing, contact_tz
from documents.chart import Cell

NUDGE_INTERVAL = timedelta(hours=24)


# --- planning ---------------------------------------------------------------------------------------


# --- who has answered what --------------------------------------------------------------------------


async def answered_sections(session: AsyncSession, consultation: Consultation) -> dict[tuple[int, int], set[int]]:
    """(body, state) → ids of sections it has answered (a comment or "no comments")."""
    answered: dict[tuple[int, int], set[int]] = defaultdict(set)
    for body_id, state_id, section_id in await session.execute(
        select(Comment.body_id, Comment.state_id, Clause.section_id)
        .join(Clause, Clause.id == Comment.clause_id)
        .where(
            Comment.stage_id == consultation.stage_id,
            Comment.status == CommentStatus.ACTIVE,
            Comment.body_id.is_not(None),  # a state's own comment answers for no body
        )
        .distinct()
    ):
        answered[(body_id or 0, state_id)].add(section_id)
    for body_id, state_id, section_id in await session.execute(
        select(SectionResponse.body_id, SectionResponse.state_id, SectionResponse.section_id).where(
            SectionResponse.stage_id == consultation.stage_id
        )
    ):
        answered[(body_id, state_id)].add(section_id)
    return answered


# --- firing ---------------------------------------------------------------------------------------------


@dataclass
class Fired:
    reminders: int = 0
    summaries: int = 0
    skipped: int = 0
    jobs: list[str] = field(default_factory=list)


async def fire_due(session: AsyncSession, timing: Timing, *, now: datetime, render: Renderer) -> Fired:
    """Turn every job that is due into queued messages, once. Jobs due together (after a
    stop, say) are merged: one message per person."""
    query = (
        select(PlannedJob)
        .where(PlannedJob.status == PENDING, PlannedJob.due_at <= now)
        .order_by(PlannedJob.consultation_id, PlannedJob.due_at)
    )
    if dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = list(await session.scalars(query))
    fired = Fired()
    by_consultation: dict[int, list[PlannedJob]] = defaultdict(list)
    for job in jobs:
        by_consultation[job.consultation_id].append(job)
    for consultation_id, due in by_consultation.items():
        consultation = await session.get(Consultation, consultation_id)
        if consultation is None:
            continue
        reminders = [j for j in due if j.kind == "reminder"]
        summaries = [j for j in due if j.kind != "reminder"]
        if reminders:
            latest = reminders[-1]
            if consultation.status == RoundStatus.OPEN and consultation.deadline and now < consultation.deadline:
                if consultation.kind == StageKind.ENDORSEMENT:
                    fired.reminders += await endorsements.remind(
                        session, consultation, latest, timing, now=now, render=render
                    )
                else:
                    fired.reminders += await _send_reminders(
                        session, consultation, latest, timing, now=now, render=render
                    )
                for job in reminders:
                    job.status, job.done_at = DONE, now
            else:
                for job in reminders:
                    job.status, job.done_at = SKIPPED, now
                fired.skipped += len(reminders)
        if summaries and consultation.kind == StageKind.ENDORSEMENT:
            # The endorsement's deadline: the stage closes and its record goes out.
            if any(j.label == "deadline" for j in summaries):
                fired.summaries += await endorsements.close_at_deadline(
                    session, consultation, now=now, render=render, zone=timing.default_tz
                )
            for job in summaries:
                job.status, job.done_at = DONE, now
        elif summaries:
            latest = summaries[-1]
            fired.summaries += await _send_summaries(session, consultation, latest, timing, now=now, render=render)
            for job in summaries:
                job.status, job.done_at = DONE, now
        fired.jobs.extend(f"{j.kind}:{j.label}" for j in due)
    await session.flush()
    return fired


async def _recipients(
    session: AsyncSession, consultation: Consultation, *, everyone: bool
) -> list[tuple[Contact, list[Section]]]:
    """Delegates to remind, each with the sections their body and state have not answered."""
    muted = set(
        await session.scalars(select(ReminderMute.contact_id).where(ReminderMute.consultation_id == consultation.id))
    )
    answered = await answered_sections(session, consultation)
    bodies = {b.id for b in await bodies_taking_part(session, consultation)}
    contacts = list(
        await session.scalars(
            select(Contact).where(
                Contact.role == Role.DELEGATE, Contact.chat_id.is_not(None), Contact.body_id.in_(bodies)
            )
        )
    )
    routed_cache: dict[int, list[Section]] = {}
    result = []
    for contact in contacts:
        if contact.id in muted or contact.unreachable_at is not None or contact.body_id is None:
            continue
        if contact.body_id not in routed_cache:
            routed_cache[contact.body_id] = await sections_for_body(session, consultation, contact.body_id)
        done = answered.get((contact.body_id, contact.state_id or 0), set())
        if done and not everyone:
            continue
        open_sections = [s for s in routed_cache[contact.body_id] if s.id not in done]
        if not open_sections and not everyone:
            continue
        result.append((contact, open_sections))
    return result


async def _supersede(session: AsyncSession, contact_id: int, consultation_id: int, kinds: tuple[str, ...]) -> None:
    """An unsent earlier reminder gives way to the new one: one message, not two."""
    await session.execute(
        update(Outbox)
        .where(
            Outbox.contact_id == contact_id,
            Outbox.consultation_id == consultation_id,
            Outbox.kind.in_(kinds),
            Outbox.status == OutboxStatus.QUEUED,
        )
        .values(status=OutboxStatus.SUPERSEDED)
    )


async def _queue_reminder(
    session: AsyncSession,
    consultation: Consultation,
    contact: Contact,
    open_sections: list[Section],
    timing: Timing,
    *,
    key: str,
    kind: str,
    write: Callable[..., str],
    buttons: Rows,
    now: datetime,
) -> int:
    """One reminder-like message (a reminder, a chair's nudge) to one delegate: in their
    daytime, with buttons to the sections still unanswered, and only if it can arrive before
    the deadline it announces."""
    deadline = consultation.deadline
    if deadline is None or contact.chat_id is None:
        return 0
    tz = contact_tz(contact, timing.default_tz)
    at = next_daytime(now, tz, timing.quiet_hours)
    if at >= deadline:
        return 0
    national = clearance.national_deadline(consultation, timing.national_lead)
    message = outbox.OutgoingMessage(
        text=write(
            consultation.title,
            deadline,
            tz,
            at,
            [(s.ref, s.heading) for s in open_sections],
            national=national if national is not None and national > at else None,
        ),
        buttons=buttons,
        consultation_id=consultation.id,
    )
    return await outbox.enqueue(
        session,
        key=key,
        kind=kind,
        chat_id=contact.chat_id,
        contact_id=contact.id,
        message=message,
        now=now,
        not_before=at,
        expires_at=deadline,
    )


async def _send_reminders(
    session: AsyncSession,
    consultation: Consultation,
    job: PlannedJob,
    timing: Timing,
    *,
    now: datetime,
    render: Renderer,
) -> int:
    queued = 0
    for contact, open_sections in await _recipients(session, consultation, everyone=consultation.remind_everyone):
        await _supersede(session, contact.id, consultation.id, ("reminder",))
        queued += await _queue_reminder(
            session,
            consultation,
            contact,
            open_sections,
            timing,
            key=f"rem:{job.id}:{contact.id}",
            kind="reminder",
            write=render.reminder,
            buttons=render.reminder_buttons(open_sections, consultation.id),
            now=now,
        )
    queued += await _remind_focal_points(session, consultation, job, timing, now=now, render=render)
    return queued


async def _remind_focal_points(
    session: AsyncSession,
    consultation: Consultation,
    job: PlannedJob,
    timing: Timing,
    *,
    now: datetime,
    render: Renderer,
) -> int:
    """With each reminder of a consultation that asks for clearance: every focal point whose
    state has comments waiting for clearance is told how many, and by when."""
    deadline = consultation.deadline
    if deadline is None or clearance.mode_of(consultation) == Clearance.OFF:
        return 0
    waiting: dict[int, int] = {}
    for state_id, n in await session.execute(
        select(Comment.state_id, func.count())
        .where(
            Comment.stage_id == consultation.stage_id,
            Comment.status == CommentStatus.ACTIVE,
            Comment.clearance == ClearanceState.DRAFTED,
        )
        .group_by(Comment.state_id)
    ):
        waiting[state_id] = n
    if not waiting:
        return 0
    muted = set(
        await session.scalars(select(ReminderMute.contact_id).where(ReminderMute.consultation_id == consultation.id))
    )
    focal_points = await session.scalars(
        select(Contact).where(
            Contact.role == Role.FOCAL,
            Contact.chat_id.is_not(None),
            Contact.unreachable_at.is_(None),
            Contact.state_id.in_(list(waiting)),
        )
    )
    national = clearance.national_deadline(consultation, timing.national_lead)
    queued = 0
    for contact in focal_points:
        if contact.id in muted or contact.state_id is None:
            continue
        tz = contact_tz(contact, timing.default_tz)
        at = next_daytime(now, tz, timing.quiet_hours)
        if at >= deadline:
            continue
        await _supersede(session, contact.id, consultation.id, ("reminder",))
        queued += await outbox.enqueue(
            session,
            key=f"rem:{job.id}:{contact.id}",
            kind="reminder",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(
                text=render.focal_reminder(consultation.title, deadline, national, tz, at, waiting[contact.state_id]),
                consultation_id=consultation.id,
            ),
            now=now,
            not_before=at,
            expires_at=deadline,
        )
    return queued


# --- summaries ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    text: str
    chart: bytes
    buttons: Rows | None
    caption: str


async def _section_counts(
    session: AsyncSession, consultation: Consultation, body_id: int | None
) -> list[tuple[str, str, int]]:
    query = (
        select(Clause.section_id, func.count())
        .join(Comment, Comment.clause_id == Clause.id)
        .where(Comment.stage_id == consultation.stage_id, clearance.counted())
        .group_by(Clause.section_id)
    )
    if body_id is not None:
        query = query.where(Comment.body_id == body_id)
    counts = dict(list(await session.execute(query)))
    sections = await (
        sections_for_body(session, consultation, body_id) if body_id else sections_of(session, consultation)
    )
    return [(s.ref, s.heading, counts.get(s.id, 0)) for s in sections]


def _cells(report: StatusReport) -> dict[tuple[str, str], Cell]:
    return {
        (b.code, s.state): Cell(s.responded, s.comments, s.joined, s.waiting, s.returned)
        for b in report.bodies
        for s in b.states
    }


async def build_summary(
    session: AsyncSession,
    consultation: Consultation,
    *,
    body_id: int | None,
    now: datetime,
    tz: ZoneInfo,
    render: Renderer,
    label: str = "",
) -> Summary:
    """The chair's summary for one body, or (body_id None) the Secretariat's cross-body one,
    with the response chart."""
    from documents.chart import response_chart

    report = await status_report(session, consultation, body_id=body_id, with_answers=body_id is None)
    per_section = await _section_counts(session, consultation, body_id)
    states = [s.state for s in report.bodies[0].states] if report.bodies else []
    bodies = [b.code for b in report.bodies]
    chart = await asyncio.to_thread(
        functools.partial(response_chart, at=now, timezone=tz.key, clearance=report.clearance != "off"),
        consultation.title,
        bodies,
        states,
        _cells(report),
    )
    if body_id is not None and report.bodies:
        body = report.bodies[0]
        text = render.chair_summary(report, body, per_section, tz, now, label)
        waiting = len(body.not_responded)
        buttons = (
            render.nudge_buttons(consultation.id, body_id, waiting)
            if waiting and consultation.status == RoundStatus.OPEN and now < (consultation.deadline or now)
            else None
        )
        caption = render.chart_caption(report, body.code)
    else:
        text = render.secretariat_summary(report, per_section, tz, now, label)
        buttons = None
        caption = render.chart_caption(report, None)
    return Summary(text, chart, buttons, caption)


async def summary_for(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, now: datetime, render: Renderer
) -> Summary:
    """The summary someone asks for: a chair's, of their own body; the Secretariat's, of all."""
    require(actor, Role.CHAIR, Role.SECRETARIAT)
    body_id = None if actor.is_secretariat else actor.body_id
    if body_id is None and not actor.is_secretariat:
        raise Refused(Reason.NOT_FOR_ROLE, role=str(actor.role), allowed=[str(Role.CHAIR)])
    return await build_summary(session, consultation, body_id=body_id, now=now, tz=actor.tz, render=render)


async def _send_summaries(
    session: AsyncSession,
    consultation: Consultation,
    job: PlannedJob,
    timing: Timing,
    *,
    now: datetime,
    render: Renderer,
) -> int:
    label = render.summary_label(job.kind, job.label)
    bodies = {b.id for b in await bodies_taking_part(session, consultation)}
    people = list(
        await session.scalars(
            select(Contact).where(Contact.chat_id.is_not(None), Contact.role.in_([Role.CHAIR, Role.SECRETARIAT]))
        )
    )
    cache: dict[int | None, Summary] = {}
    queued = 0
    for person in people:
        if person.role == Role.CHAIR and person.body_id not in bodies:
            continue
        key_body = person.body_id if person.role == Role.CHAIR else None
        tz = contact_tz(person, timing.default_tz)
        if key_body not in cache:
            cache[key_body] = await build_summary(
                session, consultation, body_id=key_body, now=now, tz=tz, render=render, label=label
            )
        summary = cache[key_body]
        at = next_daytime(now, tz, timing.quiet_hours)
        queued += await enqueue_summary(
            session, person, consultation, summary, key=f"sum:{job.id}:{person.id}", at=at, now=now
        )
    return queued


async def enqueue_summary(
    session: AsyncSession,
    person: Contact,
    consultation: Consultation,
    summary: Summary,
    *,
    key: str,
    at: datetime,
    now: datetime,
    kind: str = "summary",
) -> int:
    """A summary's chart, then its text; an earlier one of the same kind still unsent gives way."""
    await _supersede(session, person.id, consultation.id, (kind, f"{kind}-chart"))
    queued = await outbox.enqueue(
        session,
        key=f"{key}:chart",
        kind=f"{kind}-chart",
        chat_id=person.chat_id,
        contact_id=person.id,
        message=outbox.OutgoingMessage(
            text=summary.caption,
            consultation_id=consultation.id,
            photo=base64.b64encode(summary.chart).decode("ascii"),
        ),
        now=now,
        not_before=at,
    )
    queued += await outbox.enqueue(
        session,
        key=f"{key}:text",
        kind=kind,
        chat_id=person.chat_id,
        contact_id=person.id,
        message=outbox.OutgoingMessage(text=summary.text, buttons=summary.buttons, consultation_id=consultation.id),
        now=now,
        not_before=at,
    )
    return queued


# --- chairs' nudges, muting, time zones ----------------------------------------------------------------------


@dataclass(frozen=True)
class Nudged:
    recipients: int
    states: list[str]


async def nudge(
    session: AsyncSession,
    actor: Actor,
    consultation_id: int,
    body_id: int,
    *,
    now: datetime,
    timing: Timing,
    render: Renderer,
) -> Nudged:
    """A chair asks the non-responders of their body to answer (once a day per body)."""
    if not actor.is_secretariat and (actor.role != Role.CHAIR or actor.body_id != body_id):
        raise Refused(Reason.NUDGE_NOT_YOURS)
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(Reason.UNKNOWN_CONSULTATION, name=str(consultation_id), known=[])
    if consultation.status != RoundStatus.OPEN or (consultation.deadline and now >= consultation.deadline):
        raise Refused(Reason.NOT_OPEN, name=consultation.name)
    last = await session.scalar(
        select(func.max(Nudge.created_at)).where(Nudge.stage_id == consultation.stage_id, Nudge.body_id == body_id)
    )
    if last is not None and now - last < NUDGE_INTERVAL:
        raise Refused(Reason.NUDGE_TOO_SOON, next_at=last + NUDGE_INTERVAL, tz=ZoneInfo(actor.timezone))
    record = Nudge(
        consultation_id=consultation.id,
        stage_id=consultation.stage_id,
        body_id=body_id,
        contact_id=actor.contact_id,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    count, states = 0, set()
    for contact, open_sections in await _recipients(session, consultation, everyone=False):
        if contact.body_id != body_id:
            continue
        sent = await _queue_reminder(
            session,
            consultation,
            contact,
            open_sections,
            timing,
            key=f"nudge:{record.id}:{contact.id}",
            kind="nudge",
            write=render.nudge_message,
            buttons=render.reminder_buttons(open_sections, consultation.id),
            now=now,
        )
        if sent:
            count += sent
            states.add(contact.state.name if contact.state else "")
    record.recipients = count
    await session.flush()
    return Nudged(count, sorted(states))


async def mute(session: AsyncSession, actor: Actor, consultation_id: int, muted: bool) -> str:
    """Reminders of a round the person takes part in, off or back on."""
    consultation = await session.get(Consultation, consultation_id)
    visible = {c.id for c in await visible_consultations(session, actor)}
    if consultation is None or consultation.id not in visible:
        raise NotFound(Reason.UNKNOWN_CONSULTATION, name=str(consultation_id), known=[])
    existing = await session.get(ReminderMute, (actor.contact_id, consultation_id))
    if muted and existing is None:
        session.add(ReminderMute(contact_id=actor.contact_id, consultation_id=consultation_id))
    elif not muted and existing is not None:
        await session.delete(existing)
    await session.flush()
    return consultation.title


# --- deadline changes ----------------------------------------------------------------------------------------


async def states_by_name(session: AsyncSession) -> dict[int, MemberState]:
    return {s.id: s for s in await session.scalars(select(MemberState))}
