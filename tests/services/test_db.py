"""The database layer itself: what every repository relies on from a statement, and what
the bot's own concurrency (updates side by side, the sender, the timer) relies on from
transactions, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.models import Body, Outbox, OutboxStatus, ProcessedUpdate, utcnow
from bot.services import outbox, timetable, updates
from tests.services.test_loop_responsive import MOST_STALL, Ticker


async def test_rows_counts_and_new_ids_come_back(db):
    async with db.session() as session:
        first = Body(code="AAA", name="First")
        second = Body(code="BBB", name="Second")
        session.add_all([first, second])
        await session.flush()
        assert first.id and second.id and first.id != second.id
    async with db.session() as session:
        await session.execute(
            insert(ProcessedUpdate), [{"update_id": n, "processed_at": datetime.now(UTC)} for n in range(50)]
        )
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
    bot meanwhile goes on reading and answering (nothing blocks the event loop), and both
    writes land."""
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

    async with Ticker() as ticker:
        tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
        await first_wrote.wait()
        await asyncio.sleep(0.2)
        seen_meanwhile = await _codes(db)  # reads go on, and see nothing uncommitted
        finish_first.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert ticker.worst < MOST_STALL
    assert "W1" not in seen_meanwhile
    assert await _codes(db) == {"W1", "W2"}


async def test_the_bots_own_concurrency_never_finds_the_database_locked(db):
    """Eight updates at once, each reading, queuing a message, answering its person with
    its transaction open and recording itself handled; the sender taking messages and
    recording them sent; the timer beating and looking for what is due. Everything lands,
    and nothing fails with "database is locked"."""
    workers, each = 8, 15
    total = workers * each
    done = asyncio.Event()

    async def updates_of(worker: int) -> None:
        for n in range(each):
            update_id = worker * 1000 + n
            async with db.session() as session:
                assert not await updates.seen(session, update_id)
                assert await session.scalar(select(func.count()).select_from(Body)) >= 0
                queued = outbox.OutgoingMessage(f"answer to {update_id}")
                assert await outbox.enqueue(
                    session, key=f"u{update_id}", kind="notice", chat_id=update_id, message=queued
                )
                await asyncio.sleep(random.uniform(0, 0.005))  # the reply goes out before the commit
                assert await updates.mark(session, update_id, now=utcnow())

    async def sender() -> None:
        sent = 0
        while sent < total:
            async with db.session() as session:
                claimed = await outbox.claim(session, limit=10, instance="here")
            for item in claimed:
                await asyncio.sleep(0.001)  # the Bot API answers
                async with db.session() as session:
                    await outbox.mark_sent(session, item, message_id=item.id)
            sent += len(claimed)
            if not claimed:
                await asyncio.sleep(0.01)

    async def timer() -> None:
        while not done.is_set():
            async with db.session() as session:
                await outbox.heartbeat(session, "here")
                await timetable.next_due(session)
            await asyncio.sleep(0.02)

    beating = asyncio.create_task(timer())
    try:
        async with asyncio.timeout(120):
            await asyncio.gather(sender(), *(updates_of(worker) for worker in range(workers)))
    finally:
        done.set()
        await beating
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == total
        statuses = (await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
    assert [tuple(row) for row in statuses] == [(OutboxStatus.SENT, total)]


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


async def test_a_writer_cancelled_while_waiting_for_the_lock_does_not_hold_up_the_next(db):
    """A shutdown cancels an update whose write waits behind another transaction: the next
    writer goes through once that transaction ends, and the cancelled write is not kept."""
    async with db.session() as session:
        session.add(Body(code="W5", name="Before"))
    holding, release = asyncio.Event(), asyncio.Event()

    async def rename(name: str, *, hold: bool = False) -> None:
        async with db.session() as session:
            await session.execute(update(Body).where(Body.code == "W5").values(name=name))
            if hold:
                holding.set()
                await release.wait()

    held = asyncio.create_task(rename("Holder", hold=True))
    await holding.wait()
    task = asyncio.create_task(rename("Cancelled"))
    await asyncio.sleep(0.2)
    assert not task.done()  # waits for the holder's lock (SQLite: the file's; PostgreSQL: the row's)
    task.cancel()
    release.set()  # the holder commits: the cancelled statement's thread is let go too
    async with asyncio.timeout(10):
        with pytest.raises(asyncio.CancelledError):
            await task
        await held
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(10):
        await rename("Next")
    assert loop.time() - started < 1
    async with db.session() as session:
        assert await session.scalar(select(Body.name).where(Body.code == "W5")) == "Next"


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
