"""The timer for the round's timetable.

The database holds what is due and when (planned jobs); the JobQueue only wakes the bot at
the next due moment, and every `check_every` seconds in case another process (the command
line, another instance) changed the timetable. Firing is idempotent: a job is marked done
in the same transaction that queues its messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import Job, JobQueue

from bot.db import Database
from bot.models import utcnow
from bot.rendering import RENDERER
from bot.services import reminders, timetable, updates

log = logging.getLogger(__name__)


class Timer:
    def __init__(
        self,
        job_queue: JobQueue[Any],
        db: Database,
        timing: timetable.Timing,
        *,
        on_queued: Callable[[], None] | None = None,
        check_every: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.job_queue = job_queue
        self.db = db
        self.timing = timing
        self.on_queued = on_queued
        self.check_every = check_every
        self.clock = clock
        self._next_job: Job[Any] | None = None
        self._repeating: Job[Any] | None = None

    async def start(self) -> None:
        """Catch up on anything that fell due while the bot was down, then arm."""
        await self.fire()
        self._repeating = self.job_queue.run_repeating(
            self._tick, interval=self.check_every, first=self.check_every, name="timetable-check"
        )

    def stop(self) -> None:
        for job in (self._next_job, self._repeating):
            _remove(job)
        self._next_job = self._repeating = None

    async def _tick(self, _context: object) -> None:
        await self.fire()

    async def fire(self) -> reminders.Fired | None:
        try:
            async with self.db.session() as session:
                fired = await reminders.fire_due(session, self.timing, render=RENDERER, now=self.clock())
                await updates.forget_old(session, now=self.clock())
        except Exception:
            log.exception("could not fire due reminders")
            fired = None
        if fired and (fired.reminders or fired.summaries) and self.on_queued:
            self.on_queued()
        if fired and fired.jobs:
            log.info("fired %s", ", ".join(fired.jobs))
        await self.rearm()
        return fired

    async def rearm(self) -> None:
        async with self.db.session() as session:
            due = await timetable.next_due(session)
        _remove(self._next_job)
        self._next_job = None
        if due is None:
            return
        delay = max(0.0, (due - self.clock()).total_seconds())
        if delay > self.check_every:
            return  # the regular check will get closer first
        self._next_job = self.job_queue.run_once(
            self._tick, when=timedelta(seconds=delay + 0.05), name="timetable-next"
        )


def _remove(job: Job[Any] | None) -> None:
    """Unschedule a job that may already have run or been dropped by a stopping queue."""
    if job is None or job.removed:
        return
    try:
        job.schedule_removal()
    except Exception:  # the scheduler forgot it already (run once, or shut down)
        pass
