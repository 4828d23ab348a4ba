"""Remembering which updates were handled, so a re-delivered one is not handled twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ProcessedUpdate

KEEP = timedelta(days=7)


async def seen(session: AsyncSession, update_id: int) -> bool:
    """Whether this update was handled already (a read: it takes no write lock)."""
    return await session.get(ProcessedUpdate, update_id) is not None


async def mark(session: AsyncSession, update_id: int, *, now: datetime) -> bool:
    """Record the update as handled, in the transaction that commits its effects: an update
    whose handling failed before committing is handled again. False if it was recorded already."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(ProcessedUpdate)
        .values(update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    return bool(result.rowcount)


async def forget_old(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - KEEP))
    return result.rowcount or 0
