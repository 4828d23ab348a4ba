"""Engine, sessions and URL handling.

Users give plain URLs (`sqlite:///x.db`, `postgresql://u@h/db`, `postgres://...`); the async
driver is picked here. Session lifetime is decided by the caller: one session per update or
job, committed at the edge.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:
    from alembic.config import Config


def async_url(raw: str) -> URL:
    """Turn a user's database URL into one with an async driver."""
    raw = raw.strip()
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
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


def _is_file_db(url: URL) -> bool:
    return url.database not in (None, "", ":memory:")


def _ensure_sqlite_dir(url: URL) -> None:
    if url.database and _is_file_db(url):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


# SQLite goes through SQLAlchemy's aiosqlite dialect as it comes: every connection has a
# thread of its own, in which its statements run and in which it waits for a lock, so a
# slow query or a write waiting for another process never holds up the event loop.
#
# Transactions are sqlite3's own: BEGIN comes just before a transaction's first INSERT,
# UPDATE or DELETE, and reads before it run on their own. A transaction therefore takes
# the write lock with its first statement, and waits for it (SQLite's busy wait) when
# another connection has it; it never holds a read snapshot that it later asks to turn
# into a write, which SQLite refuses at once ("database is locked") rather than wait for.
# This is what lets the bot's own updates, its sender and its timer, each on its own
# connection, and the command line write to one file side by side.
#
# How long a statement waits for another connection's write lock before failing with
# "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0

# A pooled PostgreSQL connection that sat unused this long is checked before it is handed
# out (the server may have restarted or dropped it meanwhile); a busy bot reuses its
# connections within milliseconds and is spared the extra round trips of every check.
PING_AFTER_IDLE_SECONDS = 5.0


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, raw_url: str, *, echo: bool = False, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> None:
        self.url = async_url(raw_url)
        kwargs: dict[str, Any] = {"echo": echo}
        if is_sqlite(self.url):
            _ensure_sqlite_dir(self.url)
            # sqlite3's own busy wait; the pragma below says the same once connected.
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        # Room for the updates in hand, the sender, the timer and the health check at once.
        # (An in-memory SQLite database keeps SQLAlchemy's single shared connection.)
        if not is_sqlite(self.url) or _is_file_db(self.url):
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


def _idle_from_now(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(after: float) -> Callable[[Any, ConnectionPoolEntry, Any], None]:
    """A checkout hook that pings a connection idle for `after` seconds or more; one that does
    not answer is replaced by a new one (the pool retries on DisconnectionError)."""

    def check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError(f"connection lost while idle: {error}") from error

    return check


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Every new SQLite connection: wait for a busy write lock instead of failing, write
    ahead (readers and the one writer never block each other), enforce foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
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


def alembic_config(raw_url: str) -> Config:
    from alembic.config import Config

    here = Path(__file__).parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", async_url(raw_url).render_as_string(hide_password=False).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg
