"""The round's timetable: when reminders, digests and milestone summaries fall due.

It is planned in the database when a round opens (and again whenever its deadline or
schedule changes); the timer only looks at it. Everything is driven by the `now` passed in,
so a whole 60-day round can be played in compressed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Consultation, Contact, PlannedJob, Role, RoundStatus, StageKind
from bot.services.errors import InvalidInput, Reason
from bot.services.registry import Actor, require
from bot.services.schedule import (
    parse_duration,
    parse_offsets,
    parse_quiet_hours,
    reminder_due,
)

if TYPE_CHECKING:
    from bot.config import Settings


PENDING, DONE, SKIPPED = "pending", "done", "skipped"


@dataclass(frozen=True)
class Timing:
    """How the timetable is laid out (from the settings)."""

    schedule: str = "30d,14d,7d,3d,1d,0d"
    quiet_hours: tuple[int, int] | None = (21, 8)
    digest_every: timedelta | None = timedelta(days=7)
    milestones: tuple[tuple[str, timedelta], ...] = (
        ("7d", timedelta(days=7)),
        ("1d", timedelta(days=1)),
        ("0d", timedelta(0)),
    )
    default_tz: str = "UTC"
    # The national deadline comes this long before the regional one (clearance asked).
    national_lead: timedelta = timedelta(0)


def timing_from(settings: Settings) -> Timing:
    digest = settings.digest_every.strip()
    return Timing(
        schedule=settings.reminder_schedule,
        quiet_hours=parse_quiet_hours(settings.quiet_hours),
        digest_every=parse_duration(digest) if digest else None,
        milestones=tuple(parse_offsets(settings.summary_milestones)),
        default_tz=settings.timezone,
        national_lead=timedelta(days=settings.national_lead_days),
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
                PlannedJob.stage_id == consultation.stage_id, PlannedJob.status != PENDING
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
    if consultation.kind == StageKind.ENDORSEMENT:
        # Reminders, and at the deadline the record: no comment summaries or digests.
        jobs = [job for job in jobs if job[0] == "reminder" or job[1] == "deadline"]
    elif timing.digest_every:
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
        session.add(
            PlannedJob(
                consultation_id=consultation.id,
                stage_id=consultation.stage_id,
                kind=kind,
                label=label,
                due_at=due,
                status=PENDING,
            )
        )
        count += 1
    await session.flush()
    return count


async def plan_of(session: AsyncSession, consultation: Consultation) -> list[PlannedJob]:
    return list(
        await session.scalars(
            select(PlannedJob)
            .where(PlannedJob.stage_id == consultation.stage_id)
            .order_by(PlannedJob.due_at, PlannedJob.id)
        )
    )


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(PlannedJob.due_at)).where(PlannedJob.status == PENDING))


async def set_schedule(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    timing: Timing,
    *,
    schedule: str | None = None,
    everyone: bool | None = None,
    now: datetime,
) -> None:
    require(actor, Role.SECRETARIAT)
    if schedule is not None:
        try:
            offsets = parse_offsets(schedule)
        except ValueError as exc:
            raise InvalidInput(Reason.BAD_DURATION, value=schedule) from exc
        if not offsets:
            raise InvalidInput(Reason.BAD_SCHEDULE, value=schedule)
        consultation.reminder_schedule = ",".join(label for label, _ in offsets)
    if everyone is not None:
        consultation.remind_everyone = everyone
    await session.flush()
    await plan_round(session, consultation, timing, now=now)
