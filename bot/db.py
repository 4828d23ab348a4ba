"""Engine, sessions and URL handling.

Users give plain URLs (`sqlite:///x.db`, `postgresql://u@h/db`, `postgres://...`); the async
driver is picked here. Session lifetime is decided by the caller: one session per update or
job, committed at the edge.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
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


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, raw_url: str, *, echo: bool = False) -> None:
        self.url = async_url(raw_url)
        kwargs: dict = {"echo": echo}
        if is_sqlite(self.url):
            _ensure_sqlite_dir(self.url)
            kwargs["connect_args"] = {"timeout": 30}
            kwargs["async_creator"] = _sqlite_connector(self.url.database or ":memory:", timeout=30)
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = NullPool
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 10
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if is_sqlite(self.url):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
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


class _OneTripCursor(aiosqlite.Cursor):
    """A cursor that runs a statement, fetches its rows and closes in one trip to the
    connection's thread. (aiosqlite makes a trip for each step: cursor, execute, fetch,
    close; every trip is an event-loop wake-up, and they were most of a query's cost.)"""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        super().__init__(conn, None)  # the sqlite3 cursor is made in the thread, per statement
        self._rows: list = []

    async def execute(self, sql, parameters=None):
        connection = self._conn._conn

        def run():
            cursor = connection.cursor()
            try:
                cursor.execute(sql, parameters if parameters is not None else ())
                rows = cursor.fetchall() if cursor.description else []
            finally:
                cursor.close()  # description, rowcount and lastrowid stay readable
            return cursor, rows

        self._cursor, self._rows = await self._execute(run)
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

    async def executemany(self, sql, parameters):
        connection = self._conn._conn

        def run():
            cursor = connection.cursor()
            try:
                cursor.executemany(sql, parameters)
            finally:
                cursor.close()
            return cursor

        self._cursor = await self._execute(run)
        self._rows = []
        return self

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


class _OneTripConnection(aiosqlite.Connection):
    def cursor(self) -> _OneTripCursor:  # type: ignore[override]
        # SQLAlchemy enters it with `async with`: no trip is needed to make one.
        return _OneTripCursor(self)


def _sqlite_connector(database: str, **options):
    """SQLAlchemy's `async_creator` for SQLite: an aiosqlite connection with one-trip cursors."""
    import sqlite3

    async def connect() -> aiosqlite.Connection:
        connection = _OneTripConnection(
            lambda: sqlite3.connect(database, check_same_thread=False, **options), iter_chunk_size=64
        )
        connection._thread.daemon = True
        return await connection

    return connect


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
