"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, settings, the local
Bot API server and the bot running against it."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.config import Settings

PG_ADMIN_URL = os.environ.get("CLAUSEBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("CLAUSEBOT_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
REQUIRE_PG = os.environ.get("CLAUSEBOT_REQUIRE_PG") == "1"


def _run(factory):
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _pg_available() -> bool:
    import asyncpg

    async def probe():
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://"), timeout=3)
        await conn.close()

    try:
        _run(probe)
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    from bot.db import upgrade

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def private_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database of its own; dropped when the block ends. Skips (or,
    where PostgreSQL is required, fails) when the server cannot be reached."""
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL.replace("postgresql://", "postgres://")

    async def create():
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    async def drop():
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    _run(create)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _run(drop)


@pytest.fixture(scope="session")
def pg_database():
    """A private PostgreSQL database for this run, migrated once."""
    from bot.db import upgrade

    with private_pg_database("clausebot_test") as url:
        upgrade(url)
        yield url


async def _truncate_pg(url: str) -> None:
    from sqlalchemy import text

    from bot.db import Database
    from bot.models import Base

    db = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await db.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "clausebot.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    await _truncate_pg(url)
    return url


@pytest.fixture
async def db(database_url):
    from bot.db import Database

    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def session(db):
    async with db.sessionmaker() as s:
        yield s
        await s.rollback()


def make_settings(database_url: str, api_url: str = "http://127.0.0.1:9", **extra) -> Settings:
    """Settings for a bot under test. Quiet hours are off unless a test asks for them, so
    that what a test sees does not depend on the hour it runs at."""
    values = {
        "telegram_bot_token": "123456:TEST-TOKEN",
        "telegram_api_url": api_url,
        "database_url": database_url,
        "timezone": "Asia/Jakarta",
        "outbox_poll_seconds": 0.2,
        "quiet_hours": "",
        **extra,
    }
    return Settings(_env_file=None, **values)
