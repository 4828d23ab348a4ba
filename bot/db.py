"""Engine, sessions and URL handling.

Users give plain URLs (`sqlite:///x.db`, `postgresql://u@h/db`, `postgres://...`); the async
driver is picked here. Session lifetime is decided by the caller: one session per update or
job, committed at the edge.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool


def async_url(raw: str) -> URL:
    """Turn a user's database URL into one with an async driver."""
    raw = raw.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
        query = dict(url.query)
        sslmode = query.pop("sslmode", None)
        if sslmode and sslmode != "disable":
            query["ssl"] = sslmode
        url = url.set(query=query)
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:///path.db or postgresql://user@host/db")
    return url


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _ensure_sqlite_dir(url: URL) -> None:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


# A pooled PostgreSQL connection that sat unused this long is checked before it is handed
# out (the server may have restarted or dropped it meanwhile); a busy bot reuses its
# connections within milliseconds and is spared the extra round trips of every check.
PING_AFTER_IDLE_SECONDS = 5.0


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, raw_url: str, *, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> None:
        self.url = async_url(raw_url)
        kwargs: dict = {"echo": echo}
        if is_sqlite(self.url):
            _ensure_sqlite_dir(self.url)
            kwargs["connect_args"] = {"timeout": 30}
            kwargs["async_creator"] = _sqlite_connector(self.url.database or ":memory:", timeout=30)
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = NullPool
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if is_sqlite(self.url):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine, "checkin", _idle_from_now)
            event.listen(self.engine.sync_engine, "checkout", _ping_if_idle(ping_after_idle))
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends cleanly, rolls back otherwise."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


# SQLite statements run on the event loop's own thread. A statement on a local file takes
# microseconds; handing each one to a worker thread and back (as aiosqlite does) cost far more
# than the statement, in thread switches and event-loop wake-ups. What a thread gave for free
# is kept by hand: a write waiting for another write must not block the loop, so writers of
# one file queue on an asyncio lock (`_writer_lock`) and SQLite's own busy wait is left for
# other processes (the CLI), whose transactions last milliseconds.


def _is_read(sql: str) -> bool:
    """SELECT and PRAGMA never begin a write transaction (the sqlite3 module begins one
    implicitly before INSERT, UPDATE, DELETE and REPLACE; DDL and SAVEPOINT take the write
    lock themselves)."""
    return sql.lstrip()[:6].upper() in ("SELECT", "PRAGMA")


_writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _writer_lock(database: str | None) -> asyncio.Lock | None:
    """The lock that writers of this file queue on, in this event loop. An in-memory
    database (None) is private to its connection and needs none."""
    if database is None:
        return None
    locks = _writer_locks.setdefault(asyncio.get_running_loop(), {})
    lock = locks.get(database)
    if lock is None:
        lock = locks[database] = asyncio.Lock()
    return lock


class _InlineCursor(aiosqlite.Cursor):
    """Runs a statement, fetches its rows and closes in one step on the loop's thread."""

    def __init__(self, conn: _InlineConnection) -> None:
        super().__init__(conn, None)  # the sqlite3 cursor is made per statement
        self._rows: list = []

    async def execute(self, sql, parameters=None):
        def run(cursor):
            cursor.execute(sql, parameters if parameters is not None else ())
            return cursor.fetchall() if cursor.description else []

        return await self._run(sql, run)

    async def executemany(self, sql, parameters):
        def run(cursor):
            cursor.executemany(sql, parameters)
            return []

        return await self._run(sql, run)

    async def _run(self, sql, work):
        """One statement: its turn among writers, a fresh sqlite3 cursor, the rows."""
        connection: _InlineConnection = self._conn
        await connection.before(sql)
        cursor = connection._conn.cursor()
        try:
            self._rows = work(cursor)
        finally:
            cursor.close()  # description, rowcount and lastrowid stay readable
            self._cursor = cursor
            connection.after()
        return self

    async def fetchall(self):
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self):
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size=None):
        size = size or 1
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def close(self) -> None:
        self._rows = []

    @property
    def description(self):
        return self._cursor.description if self._cursor is not None else None

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount if self._cursor is not None else -1

    @property
    def lastrowid(self):
        return self._cursor.lastrowid if self._cursor is not None else None


class _InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements, commits and rollbacks run on the loop's
    thread (its worker thread only opens and closes the sqlite3 connection)."""

    def __init__(self, connector, *, database: str, lock_timeout: float) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # The file whose writers this connection queues with, however its path is spelled
        # (a URI as given); None for an in-memory database.
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            self._database: str | None = None
        else:
            self._database = database if database.startswith("file:") else os.path.realpath(database)
        self._lock_timeout = lock_timeout
        self._writer: asyncio.Lock | None = None  # held from the first write to commit or rollback

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def cursor(self) -> _InlineCursor:  # type: ignore[override]
        # SQLAlchemy enters it with `async with`: nothing needs to run to make one.
        return _InlineCursor(self)

    async def before(self, sql: str) -> None:
        """Queue behind this process's other writers of the file before a write begins."""
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        if self._writer is not None or _is_read(sql):
            return
        lock = _writer_lock(self._database)
        if lock is None:
            return
        if not lock.locked():
            await lock.acquire()  # free: taken at once, nothing to wait for
        else:
            try:
                await asyncio.wait_for(lock.acquire(), self._lock_timeout)
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked") from None
        self._writer = lock

    def after(self) -> None:
        """Let the next writer in once this connection's transaction has ended."""
        if self._writer is not None and not (self._connection is not None and self._connection.in_transaction):
            self._writer, writer = None, self._writer
            writer.release()

    async def commit(self) -> None:
        try:
            await super().commit()
        finally:
            self.after()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self.after()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self.after()

    def stop(self):
        # Called when SQLAlchemy gives up on a connection (a cancelled task): its
        # transaction dies with it, so its place in the queue goes too.
        if self._writer is not None:
            self._writer, writer = None, self._writer
            writer.release()
        return super().stop()


def _sqlite_connector(database: str, *, timeout: float):
    """SQLAlchemy's `async_creator` for SQLite: a connection that runs statements inline."""

    async def connect() -> aiosqlite.Connection:
        connection = _InlineConnection(
            lambda: sqlite3.connect(database, check_same_thread=False, timeout=timeout),
            database=database,
            lock_timeout=timeout,
        )
        connection._thread.daemon = True
        return await connection

    return connect


def _idle_from_now(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(after: float):
    """A checkout hook that pings a connection idle for `after` seconds or more; one that does
    not answer is replaced by a new one (the pool retries on DisconnectionError)."""

    def check(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError(f"connection lost while idle: {error}") from error

    return check


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def upgrade(raw_url: str, revision: str = "head") -> None:
    """Apply Alembic migrations (blocking)."""
    from alembic import command

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(raw_url), revision)
        return
    # Alembic's environment runs its own event loop: give it a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(command.upgrade, alembic_config(raw_url), revision).result()


async def upgrade_async(raw_url: str) -> None:
    await asyncio.to_thread(upgrade, raw_url)


def alembic_config(raw_url: str):
    from alembic.config import Config

    here = Path(__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", async_url(raw_url).render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg
