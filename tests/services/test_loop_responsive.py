"""The bot's event loop keeps turning while the database is slow: while another process
(the command line, a second program) holds the write lock, and while a long query runs.
Measured by a task that wakes every 10 ms: a gap longer than 100 ms would be a bot that
stops answering everyone."""

from __future__ import annotations

import asyncio
import sys
from typing import Self

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.models import Body

TICK = 0.01
MOST_STALL = 0.1
HOLD_SECONDS = 2.0

# Another process takes the write lock, writes, and keeps its transaction open.
HOLD_SQLITE = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO bodies (code, name) VALUES ('HELD', 'another process')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""

HOLD_POSTGRESQL = """
import asyncio, sys
import asyncpg

async def main():
    connection = await asyncpg.connect(sys.argv[1])
    async with connection.transaction():
        await connection.execute("LOCK TABLE bodies IN EXCLUSIVE MODE")  # reads go on, writes wait
        await connection.execute("INSERT INTO bodies (code, name) VALUES ('HELD', 'another process')")
        print("locked", flush=True)
        await asyncio.sleep(float(sys.argv[2]))
    await connection.close()

asyncio.run(main())
"""

# About two seconds of work inside the database.
SLOW_READ = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 11000000) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(2)",
}


class Ticker:
    """The longest the event loop went without waking a task due every TICK seconds."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK)
            now = loop.time()
            self.worst = max(self.worst, now - last - TICK)
            last = now

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_exc) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def _add(db, code: str) -> None:
    async with db.session() as session:
        session.add(Body(code=code, name=code))


async def _codes(db) -> set[str]:
    async with db.session() as session:
        return set(await session.scalars(select(Body.code)))


async def _timed(work) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await work
    return loop.time() - started


async def _hold_write_lock(database_url: str) -> asyncio.subprocess.Process:
    """Start another process that holds the database's write lock for HOLD_SECONDS."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        script, target = HOLD_SQLITE, url.database
    else:
        script, target = HOLD_POSTGRESQL, database_url
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(target), str(HOLD_SECONDS), stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"locked\n"
    return holder


async def test_a_write_waiting_for_another_process_leaves_the_loop_free(database_url, db):
    await _add(db, "WARM")  # the pool has a connection ready, as in a running bot
    holder = await _hold_write_lock(database_url)
    async with Ticker() as ticker:
        write = asyncio.create_task(_timed(_add(db, "MINE")))
        await asyncio.sleep(0.3)
        # Meanwhile the bot goes on reading (and sees nothing uncommitted).
        read = asyncio.create_task(_codes(db))
        read_took = await _timed(read)
        write_waiting = not write.done()
        write_took = await asyncio.wait_for(write, 30)
    assert await asyncio.wait_for(holder.wait(), 30) == 0
    print(f"write behind another process: waited {write_took:.2f} s, loop stalled at most {ticker.worst * 1000:.0f} ms")
    assert ticker.worst < MOST_STALL, f"the event loop stalled {ticker.worst * 1000:.0f} ms"
    assert read.result() == {"WARM"} and read_took < 0.5
    assert write_waiting and write_took > HOLD_SECONDS / 2  # it did wait for the other process
    assert await _codes(db) == {"WARM", "HELD", "MINE"}


async def test_a_slow_query_leaves_the_loop_free(db):
    await _add(db, "WARM")

    async def slow() -> None:
        async with db.session() as session:
            await session.execute(text(SLOW_READ[db.engine.dialect.name]))

    async with Ticker() as ticker:
        query = asyncio.create_task(_timed(slow()))
        await asyncio.sleep(0.3)
        # Meanwhile another update reads and writes.
        other_took = await _timed(_add(db, "OTHER"))
        async with db.session() as session:
            count = await session.scalar(select(func.count()).select_from(Body))
        query_running = not query.done()
        query_took = await asyncio.wait_for(query, 60)
    print(f"slow query: {query_took:.2f} s, loop stalled at most {ticker.worst * 1000:.0f} ms")
    assert ticker.worst < MOST_STALL, f"the event loop stalled {ticker.worst * 1000:.0f} ms"
    assert count == 2 and other_took < 0.5
    assert query_running and query_took > 0.5
