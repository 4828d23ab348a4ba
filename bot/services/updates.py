"""Remembering which updates were handled, so a re-delivered one is not handled twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ProcessedUpdate
from bot.services.sql import dialect, rowcount, table

KEEP = timedelta(days=7)


class Ledger:
    """The newest update handled before this process started.

    Telegram hands long-polling updates to one consumer at a time, in increasing order of
    update_id, and hands them again after a restart only if their receipt was not confirmed.
    So, while polling, an update newer than every update recorded at start cannot have been
    handled before, and needs no lookup. With webhooks a re-delivery may reach another
    instance at any moment: every update is looked up.
    """

    def __init__(self, newest: int | None = None) -> None:
        self.newest = newest

    def surely_new(self, update_id: int, *, polling: bool) -> bool:
        return polling and (self.newest is None or update_id > self.newest)


async def newest(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(ProcessedUpdate.update_id)))


async def seen(session: AsyncSession, update_id: int) -> bool:
    """Whether this update was handled already (a read: it takes no write lock)."""
    return await session.get(ProcessedUpdate, update_id) is not None


# Built once: this runs for every update.
_MARK = {
    name: insert(table(ProcessedUpdate))
    .values(update_id=bindparam("update_id"), processed_at=bindparam("now"))
    .on_conflict_do_nothing(index_elements=["update_id"])
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


async def mark(session: AsyncSession, update_id: int, *, now: datetime) -> bool:
    """Record the update as handled, in the transaction that commits its effects: an update
    whose handling failed before committing is handled again. False if it was recorded already."""
    result = await session.execute(_MARK[dialect(session)], {"update_id": update_id, "now": now})
    return bool(rowcount(result))


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - KEEP))
    return rowcount(result)
