"""The round's timetable: reminders to delegates, digests and milestone summaries to chairs
and the Secretariat, nudges, muting, and changes of deadline.

Everything here is driven by `now` passed in, so a whole 60-day round can be played in
compressed time. The planned jobs live in the database; a timer only asks `fire_due` to
look at them.
"""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.models import (
    Clause,
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
    SectionResponse,
)
from bot.services import outbox
from bot.services.errors import InvalidInput, NotFound, Refused
from bot.services.registry import Actor
from bot.services.rounds import bodies_taking_part, sections_for_body, sections_of
from bot.services.schedule import next_daytime, parse_duration, parse_offsets, reminder_due
from bot.services.status import StatusReport, status_report

PENDING, DONE, SKIPPED = "pending", "done", "skipped"
NUDGE_INTERVAL = timedelta(hours=24)


@dataclass(frozen=True)
class Timing:
    """How the timetable is laid out (from the settings)."""

    schedule: str = "30d,14d,7d,3d,1d,0d"
    quiet_hours: tuple[int, int] | None = (21, 8)
    digest_every: timedelta | None = timedelta(days=7)
    milestones: tuple[tuple[str, timedelta], ...] = (("7d", timedelta(days=7)), ("1d", timedelta(days=1)), ("0d", timedelta(0)))
    default_tz: str = "UTC"


def timing_from(settings) -> Timing:
    from bot.services.schedule import parse_quiet_hours

    digest = settings.digest_every.strip()
    return Timing(
        schedule=settings.reminder_schedule,
        quiet_hours=parse_quiet_hours(settings.quiet_hours),
        digest_every=parse_duration(digest) if digest else None,
        milestones=tuple(parse_offsets(settings.summary_milestones)),
        default_tz=settings.timezone,
    )


def schedule_of(consultation: Consultation, timing: Timing) -> str:
    return consultation.reminder_schedule or timing.schedule


def contact_tz(contact: Contact, default: str = "UTC") -> ZoneInfo:
    for name in (contact.timezone, contact.state.timezone if contact.state else None, default):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


# --- planning ---------------------------------------------------------------------------------------


async def plan_round(session: AsyncSession, consultation: Consultation, timing: Timing, *, now: datetime) -> int:
    """(Re)build the pending part of the timetable from the round's deadline and schedule.
    Jobs already done stay; nothing is planned in the past."""
    await session.execute(
        delete(PlannedJob).where(PlannedJob.consultation_id == consultation.id, PlannedJob.status == PENDING)
    )
    if consultation.status != RoundStatus.OPEN or consultation.deadline is None:
        await session.flush()
        return 0
    deadline = consultation.deadline
    opened = consultation.opened_at or now
    done = {
        (kind, label)
        for kind, label in await session.execute(
            select(PlannedJob.kind, PlannedJob.label).where(
                PlannedJob.consultation_id == consultation.id, PlannedJob.status != PENDING
            )
        )
    }
    jobs: list[tuple[str, str, datetime]] = []
    for label, offset in parse_offsets(schedule_of(consultation, timing)):
        due = reminder_due(deadline, opened, offset)
        if due > now and due < deadline:
            jobs.append(("reminder", label, due))
    for label, offset in timing.milestones:
        due = deadline - offset
        jobs.append(("milestone", "deadline" if offset == timedelta(0) else label, due))
    milestone_times = [due for kind, _, due in jobs if kind == "milestone"]
    if timing.digest_every:
        week, due = 1, opened + timing.digest_every
        while due < deadline:
            # A digest close to a milestone summary would only repeat it.
            if all(abs(due - m) > timing.digest_every / 3 for m in milestone_times):
                jobs.append(("digest", f"week {week}", due))
            week, due = week + 1, due + timing.digest_every
    count = 0
    for kind, label, due in jobs:
        if (kind, label) in done or due <= now:
            continue
        session.add(PlannedJob(consultation_id=consultation.id, kind=kind, label=label, due_at=due, status=PENDING))
        count += 1
    await session.flush()
    return count


async def plan_of(session: AsyncSession, consultation: Consultation) -> list[PlannedJob]:
    return list(
        await session.scalars(
            select(PlannedJob).where(PlannedJob.consultation_id == consultation.id).order_by(PlannedJob.due_at, PlannedJob.id)
        )
    )


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(PlannedJob.due_at)).where(PlannedJob.status == PENDING))


async def set_schedule(
    session: AsyncSession,
    consultation: Consultation,
    timing: Timing,
    *,
    schedule: str | None = None,
    everyone: bool | None = None,
    now: datetime,
) -> None:
    if schedule is not None:
        try:
            offsets = parse_offsets(schedule)
        except ValueError as exc:
            raise InvalidInput(texts.esc(str(exc))) from exc
        if not offsets:
            raise InvalidInput(texts.bad_schedule(schedule))
        consultation.reminder_schedule = ",".join(label for label, _ in offsets)
    if everyone is not None:
        consultation.remind_everyone = everyone
    await session.flush()
    await plan_round(session, consultation, timing, now=now)


# --- who has answered what --------------------------------------------------------------------------


async def answered_sections(session: AsyncSession, consultation: Consultation) -> dict[tuple[int, int], set[int]]:
    """(body, state) → ids of sections it has answered (a comment or "no comments")."""
    answered: dict[tuple[int, int], set[int]] = defaultdict(set)
    for body_id, state_id, section_id in await session.execute(
        select(Comment.body_id, Comment.state_id, Clause.section_id)
        .join(Clause, Clause.id == Comment.clause_id)
        .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.ACTIVE)
        .distinct()
    ):
        answered[(body_id, state_id)].add(section_id)
    for body_id, state_id, section_id in await session.execute(
        select(SectionResponse.body_id, SectionResponse.state_id, SectionResponse.section_id).where(
            SectionResponse.consultation_id == consultation.id
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


async def fire_due(session: AsyncSession, timing: Timing, *, now: datetime) -> Fired:
    """Turn every job that is due into queued messages, once. Jobs due together (after a
    stop, say) are merged: one message per person."""
    query = (
        select(PlannedJob)
        .where(PlannedJob.status == PENDING, PlannedJob.due_at <= now)
        .order_by(PlannedJob.consultation_id, PlannedJob.due_at)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = list(await session.scalars(query))
    fired = Fired()
    by_consultation: dict[int, list[PlannedJob]] = defaultdict(list)
    for job in jobs:
        by_consultation[job.consultation_id].append(job)
    for consultation_id, due in by_consultation.items():
        consultation = await session.get(Consultation, consultation_id)
        reminders = [j for j in due if j.kind == "reminder"]
        summaries = [j for j in due if j.kind != "reminder"]
        if reminders:
            latest = reminders[-1]
            if consultation.status == RoundStatus.OPEN and consultation.deadline and now < consultation.deadline:
                fired.reminders += await _send_reminders(session, consultation, latest, timing, now=now)
                for job in reminders:
                    job.status, job.done_at = DONE, now
            else:
                for job in reminders:
                    job.status, job.done_at = SKIPPED, now
                fired.skipped += len(reminders)
        if summaries:
            latest = summaries[-1]
            fired.summaries += await _send_summaries(session, consultation, latest, timing, now=now)
            for job in summaries:
                job.status, job.done_at = DONE, now
        fired.jobs.extend(f"{j.kind}:{j.label}" for j in due)
    await session.flush()
    return fired


async def _recipients(session: AsyncSession, consultation: Consultation, *, everyone: bool) -> list[tuple[Contact, list]]:
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
    routed_cache: dict[int, list] = {}
    result = []
    for contact in contacts:
        if contact.id in muted or contact.unreachable_at is not None:
            continue
        if contact.body_id not in routed_cache:
            routed_cache[contact.body_id] = await sections_for_body(session, consultation, contact.body_id)
        done = answered.get((contact.body_id, contact.state_id), set())
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
    session: AsyncSession, consultation: Consultation, contact: Contact, open_sections, timing: Timing, *,
    key: str, kind: str, write, now: datetime,
) -> int:
    """One reminder-like message (a reminder, a chair's nudge) to one delegate: in their
    daytime, with buttons to the sections still unanswered, and only if it can arrive before
    the deadline it announces."""
    deadline = consultation.deadline
    tz = contact_tz(contact, timing.default_tz)
    at = next_daytime(now, tz, timing.quiet_hours)
    if at >= deadline:
        return 0
    message = outbox.OutgoingMessage(
        text=write(consultation.title, deadline, tz, at, [(s.ref, s.heading) for s in open_sections]),
        buttons=keyboards.reminder([(s.id, texts.section_button_label(s.ref, s.heading)) for s in open_sections], consultation.id),
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


async def _send_reminders(session: AsyncSession, consultation: Consultation, job: PlannedJob, timing: Timing, *, now: datetime) -> int:
    queued = 0
    for contact, open_sections in await _recipients(session, consultation, everyone=consultation.remind_everyone):
        await _supersede(session, contact.id, consultation.id, ("reminder",))
        queued += await _queue_reminder(
            session, consultation, contact, open_sections, timing,
            key=f"rem:{job.id}:{contact.id}", kind="reminder", write=texts.reminder, now=now,
        )
    return queued


# --- summaries ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    text: str
    chart: bytes
    buttons: list | None
    caption: str


async def _section_counts(session: AsyncSession, consultation: Consultation, body_id: int | None) -> list[tuple[str, str, int]]:
    query = (
        select(Clause.section_id, func.count())
        .join(Comment, Comment.clause_id == Clause.id)
        .where(Comment.consultation_id == consultation.id, Comment.status == CommentStatus.ACTIVE)
        .group_by(Clause.section_id)
    )
    if body_id is not None:
        query = query.where(Comment.body_id == body_id)
    counts = dict(list(await session.execute(query)))
    sections = await (sections_for_body(session, consultation, body_id) if body_id else sections_of(session, consultation))
    return [(s.ref, s.heading, counts.get(s.id, 0)) for s in sections]


def _cells(report: StatusReport):
    from documents.chart import Cell

    return {(b.code, s.state): Cell(s.responded, s.comments, s.joined) for b in report.bodies for s in b.states}


async def build_summary(
    session: AsyncSession, consultation: Consultation, *, body_id: int | None, now: datetime, tz: ZoneInfo, label: str = ""
) -> Summary:
    """The chair's summary for one body, or (body_id None) the Secretariat's cross-body one,
    with the response chart."""
    from documents.chart import response_chart

    report = await status_report(session, consultation, body_id=body_id)
    per_section = await _section_counts(session, consultation, body_id)
    states = [s.state for s in report.bodies[0].states] if report.bodies else []
    bodies = [b.code for b in report.bodies]
    chart = await asyncio.to_thread(response_chart, consultation.title, bodies, states, _cells(report))
    if body_id is not None and report.bodies:
        body = report.bodies[0]
        text = texts.chair_summary(report, body, per_section, tz, now, label)
        waiting = len(body.not_responded)
        buttons = (
            keyboards.nudge(consultation.id, body_id, waiting)
            if waiting and consultation.status == RoundStatus.OPEN and now < (consultation.deadline or now)
            else None
        )
        caption = texts.chart_caption(report, body.code)
    else:
        text = texts.secretariat_summary(report, per_section, tz, now, label)
        buttons = None
        caption = texts.chart_caption(report, None)
    return Summary(text, chart, buttons, caption)


async def _send_summaries(session: AsyncSession, consultation: Consultation, job: PlannedJob, timing: Timing, *, now: datetime) -> int:
    label = texts.summary_label(job.kind, job.label)
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
            cache[key_body] = await build_summary(session, consultation, body_id=key_body, now=now, tz=tz, label=label)
        summary = cache[key_body]
        at = next_daytime(now, tz, timing.quiet_hours)
        queued += await enqueue_summary(session, person, consultation, summary, key=f"sum:{job.id}:{person.id}", at=at, now=now)
    return queued


async def enqueue_summary(
    session: AsyncSession, person: Contact, consultation: Consultation, summary: Summary, *, key: str, at: datetime, now: datetime
) -> int:
    await _supersede(session, person.id, consultation.id, ("summary", "summary-chart"))
    queued = await outbox.enqueue(
        session,
        key=f"{key}:chart",
        kind="summary-chart",
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
        kind="summary",
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


async def nudge(session: AsyncSession, actor: Actor, consultation_id: int, body_id: int, *, now: datetime, timing: Timing) -> Nudged:
    """A chair asks the non-responders of their body to answer (once a day per body)."""
    if not actor.is_secretariat and (actor.role != Role.CHAIR or actor.body_id != body_id):
        raise Refused(texts.nudge_not_yours())
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(texts.unknown_consultation(str(consultation_id), []))
    if consultation.status != RoundStatus.OPEN or (consultation.deadline and now >= consultation.deadline):
        raise Refused(texts.not_open(consultation.name))
    last = await session.scalar(
        select(func.max(Nudge.created_at)).where(Nudge.consultation_id == consultation.id, Nudge.body_id == body_id)
    )
    if last is not None and now - last < NUDGE_INTERVAL:
        raise Refused(texts.nudge_too_soon(last + NUDGE_INTERVAL, ZoneInfo(actor.timezone)))
    record = Nudge(consultation_id=consultation.id, body_id=body_id, contact_id=actor.contact_id, created_at=now)
    session.add(record)
    await session.flush()
    count, states = 0, set()
    for contact, open_sections in await _recipients(session, consultation, everyone=False):
        if contact.body_id != body_id:
            continue
        sent = await _queue_reminder(
            session, consultation, contact, open_sections, timing,
            key=f"nudge:{record.id}:{contact.id}", kind="nudge", write=texts.nudge_message, now=now,
        )
        if sent:
            count += sent
            states.add(contact.state.name if contact.state else "")
    record.recipients = count
    await session.flush()
    return Nudged(count, sorted(states))


async def mute(session: AsyncSession, actor: Actor, consultation_id: int, muted: bool) -> str:
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(texts.unknown_consultation(str(consultation_id), []))
    existing = await session.get(ReminderMute, (actor.contact_id, consultation_id))
    if muted and existing is None:
        session.add(ReminderMute(contact_id=actor.contact_id, consultation_id=consultation_id))
    elif not muted and existing is not None:
        await session.delete(existing)
    await session.flush()
    return consultation.title


async def set_timezone(session: AsyncSession, actor: Actor, name: str | None) -> str:
    contact = await session.get(Contact, actor.contact_id)
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(texts.bad_timezone(name)) from exc
    contact.timezone = name or None
    await session.flush()
    return contact.timezone or (contact.state.timezone if contact.state else "UTC")


# --- deadline changes ----------------------------------------------------------------------------------------


async def affected_contacts(session: AsyncSession, consultation: Consultation) -> list[Contact]:
    bodies = {b.id for b in await bodies_taking_part(session, consultation)}
    contacts = list(await session.scalars(select(Contact).where(Contact.chat_id.is_not(None)).order_by(Contact.id)))
    return [c for c in contacts if c.role == Role.SECRETARIAT or c.body_id in bodies]


async def change_deadline(
    session: AsyncSession, consultation: Consultation, deadline: datetime, timing: Timing, *, now: datetime
) -> int:
    """Move the deadline: the timetable moves with it and everyone affected is told once,
    with the new deadline as a calendar file."""
    from documents.ics import deadline_event

    if consultation.status != RoundStatus.OPEN:
        raise Refused(texts.not_open(consultation.name))
    if deadline <= now:
        raise InvalidInput(texts.deadline_in_past(deadline))
    old = consultation.deadline
    consultation.deadline = deadline
    await session.flush()
    await plan_round(session, consultation, timing, now=now)
    stamp = deadline.strftime("%Y%m%dT%H%M%S")
    ics = deadline_event(f"clausebot-{consultation.id}-{stamp}@clausebot", consultation.title, deadline, now=now)
    queued = 0
    for contact in await affected_contacts(session, consultation):
        tz = contact_tz(contact, timing.default_tz)
        message = outbox.OutgoingMessage(
            text=texts.deadline_moved(consultation.title, old, deadline, tz),
            consultation_id=consultation.id,
            document=base64.b64encode(ics).decode("ascii"),
            filename="deadline.ics",
        )
        queued += await outbox.enqueue(
            session,
            key=f"deadline:{consultation.id}:{stamp}:{contact.id}",
            kind="deadline",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=message,
            now=now,
        )
    return queued


async def announce_close(session: AsyncSession, consultation: Consultation, timing: Timing, *, now: datetime) -> int:
    await plan_round(session, consultation, timing, now=now)  # clears what is still pending
    queued = 0
    for contact in await affected_contacts(session, consultation):
        if contact.role == Role.SECRETARIAT:
            continue
        queued += await outbox.enqueue(
            session,
            key=f"closed:{consultation.id}:{contact.id}",
            kind="closed",
            chat_id=contact.chat_id,
            contact_id=contact.id,
            message=outbox.OutgoingMessage(text=texts.round_closed_notice(consultation.title), consultation_id=consultation.id),
            now=now,
        )
    return queued


async def set_allow_late(session: AsyncSession, consultation: Consultation, allowed: bool) -> None:
    consultation.allow_late = allowed
    await session.flush()


async def states_by_name(session: AsyncSession) -> dict[int, MemberState]:
    return {s.id: s for s in await session.scalars(select(MemberState))}
