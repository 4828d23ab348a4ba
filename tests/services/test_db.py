"""The database layer itself: what every repository relies on from a statement, on SQLite
(whose statements run on the event loop's thread, writers queuing on a lock) and on
PostgreSQL."""

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


async def _codes(db) -> set[str]:
    async with db.session() as session:
        return set(await session.scalars(select(Body.code).where(Body.code.like("W%"))))


async def test_a_write_waiting_for_another_leaves_the_bot_free_to_work(db):
    """An update that writes while another update's transaction is open waits its turn; the
    bot meanwhile goes on reading and answering (nothing blocks the event loop)."""
    first_wrote, finish_first = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with db.session() as session:
            session.add(Body(code="W1", name="First"))
            await session.flush()
            first_wrote.set()
            await finish_first.wait()  # e.g. a reply being sent before the commit

    async def second() -> None:
        await first_wrote.wait()
        async with db.session() as session:
            session.add(Body(code="W2", name="Second"))
            await session.flush()

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_wrote.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(0.2)
    assert loop.time() - started < 1.0  # the loop was not held up by the waiting write
    assert "W1" not in await _codes(db)  # reads go on, and see nothing uncommitted
    if db.is_sqlite:
        assert not tasks[1].done()  # one writer at a time (PostgreSQL locks rows instead)
    finish_first.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert await _codes(db) == {"W1", "W2"}


async def test_a_writer_cancelled_mid_transaction_does_not_hold_up_the_next(db):
    wrote = asyncio.Event()

    async def abandoned() -> None:
        async with db.session() as session:
            session.add(Body(code="W3", name="Abandoned"))
            await session.flush()
            wrote.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(abandoned())
    await wrote.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10):
        async with db.session() as session:
            session.add(Body(code="W4", name="Next"))
    assert await _codes(db) == {"W4"}


async def test_a_connection_the_server_dropped_while_idle_is_replaced_unnoticed(database_url):
    """PostgreSQL restarted, or a proxy cut an idle connection: the next update still works."""
    from bot.db import Database

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to drop a connection")
    db = Database(database_url, ping_after_idle=0.05)
    try:
        async with db.session() as session:
            first = await session.scalar(text("select pg_backend_pid()"))
        other = Database(database_url)
        async with other.session() as session:
            assert await session.scalar(text("select pg_terminate_backend(:pid)"), {"pid": first})
        await other.dispose()
        await asyncio.sleep(0.1)
        async with db.session() as session:
            second = await session.scalar(text("select pg_backend_pid()"))
        assert second != first
    finally:
        await db.dispose()
