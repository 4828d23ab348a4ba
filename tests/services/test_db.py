"""The database layer itself: what every repository relies on from a statement, on SQLite
(whose connections run each statement in one trip to their thread) and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.models import Body, ProcessedUpdate


async def test_rows_counts_and_new_ids_come_back(db):
    async with db.session() as session:
        first = Body(code="AAA", name="First")
        second = Body(code="BBB", name="Second")
        session.add_all([first, second])
        await session.flush()
        assert first.id and second.id and first.id != second.id
    async with db.session() as session:
        await session.execute(insert(ProcessedUpdate), [{"update_id": n, "processed_at": datetime.now(UTC)} for n in range(50)])
        changed = await session.execute(update(Body).where(Body.code.in_(["AAA", "BBB"])).values(name="Renamed"))
        assert changed.rowcount == 2
        removed = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.update_id >= 40))
        assert removed.rowcount == 10
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 40
        names = (await session.execute(select(Body.code, Body.name).order_by(Body.code))).all()
        assert [tuple(row) for row in names if row[0] in ("AAA", "BBB")] == [("AAA", "Renamed"), ("BBB", "Renamed")]
        partial = await session.execute(select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.update_id))
        assert partial.fetchone()[0] == 0
        assert [row[0] for row in partial.fetchmany(3)] == [1, 2, 3]
        assert len(partial.fetchall()) == 36


async def test_a_failed_statement_leaves_the_connection_usable(db):
    async with db.session() as session:
        session.add(Body(code="DUP", name="One"))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Body(code="DUP", name="Two"))
            await session.flush()
    async with db.session() as session:
        assert await session.scalar(select(Body.name).where(Body.code == "DUP")) == "One"
        assert (await session.execute(text("select 1"))).scalar() == 1


async def test_concurrent_sessions_each_see_their_own_results(db):
    async def count_to(n: int) -> list[int]:
        async with db.session() as session:
            rows = await session.execute(text(f"select {n} union all select {n + 1}"))
            return sorted(row[0] for row in rows)

    results = await asyncio.gather(*(count_to(n * 10) for n in range(12)))
    assert results == [[n * 10, n * 10 + 1] for n in range(12)]
