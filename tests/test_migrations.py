"""Migrations on a database made by an earlier release, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.db import Database, alembic_config, upgrade
from bot.models import Base, UTCDateTime
from bot.services import registry
from bot.services.errors import Refused
from tests.conftest import BACKENDS, _run, private_pg_database
from tests.refusals import refused

OLD_TOKEN = "OldRelease-Token_0123456789"
USED_TOKEN = "OldRelease-Used_9876543210"


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with private_pg_database("clausebot_migration") as url:
        yield url


async def _as_the_previous_release_left_it(url: str) -> None:
    """Revision 0001 with a body, a state, two contacts and their invites, tokens in plain."""
    upgrade(url, "0001")
    now = datetime.now(UTC)
    stamp = sa.column("created_at", UTCDateTime())
    bodies = sa.table("bodies", sa.column("id", sa.Integer()), sa.column("code"), sa.column("name"))
    states = sa.table(
        "member_states", sa.column("id", sa.Integer()), sa.column("name"), sa.column("code"), sa.column("timezone")
    )
    contacts = sa.table(
        "contacts",
        sa.column("id", sa.Integer()),
        sa.column("name"),
        sa.column("email"),
        sa.column("role"),
        sa.column("body_id"),
        sa.column("state_id"),
        stamp,
    )
    invites = sa.table(
        "invites",
        sa.column("token"),
        sa.column("contact_id"),
        sa.column("created_at", UTCDateTime()),
        sa.column("expires_at", UTCDateTime()),
        sa.column("used_at", UTCDateTime()),
        sa.column("used_by"),
    )
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            body = await conn.scalar(bodies.insert().values(code="SOMHD", name="Health").returning(bodies.c.id))
            state = await conn.scalar(
                states.insert().values(name="Thailand", code="TH", timezone="Asia/Bangkok").returning(states.c.id)
            )
            for name, token, used in (("Somchai", OLD_TOKEN, None), ("Used", USED_TOKEN, now)):
                contact = await conn.scalar(
                    contacts.insert()
                    .values(name=name, email="", role="delegate", body_id=body, state_id=state, created_at=now)
                    .returning(contacts.c.id)
                )
                await conn.execute(
                    invites.insert().values(
                        token=token,
                        contact_id=contact,
                        created_at=now,
                        expires_at=now + timedelta(days=20),
                        used_at=used,
                        used_by=555 if used else None,
                    )
                )
    finally:
        await db.dispose()


async def _everything_stored(db: Database) -> str:
    """Every value of every table, as text."""
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        dump = []
        for name in names:
            rows = (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).all()
            dump.append(f"{name}: {rows!r}")
    return "\n".join(dump)


async def test_links_given_out_before_the_upgrade_still_join_and_no_token_is_left(empty_database_url):
    url = empty_database_url
    await _as_the_previous_release_left_it(url)
    upgrade(url)

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            columns = await conn.run_sync(lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("invites")])
            hashes = set((await conn.execute(sa.text("SELECT token_hash FROM invites"))).scalars())
        assert "token" not in columns and "token_hash" in columns
        old_hash = hashlib.sha256(OLD_TOKEN.encode()).hexdigest()
        assert hashes == {old_hash, hashlib.sha256(USED_TOKEN.encode()).hexdigest()}
        stored = await _everything_stored(db)
        assert OLD_TOKEN not in stored and USED_TOKEN not in stored

        async with db.session() as session:
            joined = await registry.join(
                session, OLD_TOKEN, telegram_user_id=4242, chat_id=4242, username="somchai", full_name="S"
            )
        assert joined.actor.label == "SOMHD – Thailand" and joined.actor.name == "Somchai"
        async with db.session() as session:
            with refused(Refused, "already been used"):
                await registry.join(session, USED_TOKEN, telegram_user_id=77, chat_id=77, username=None, full_name="X")
            with refused(Refused, "not valid"):
                await registry.join(
                    session, old_hash[:40], telegram_user_id=78, chat_id=78, username=None, full_name="Y"
                )
        async with db.session() as session:
            fresh = await registry.issue_invite(session, registry.CONSOLE, role="delegate", body="SOMHD", state="TH")
        assert fresh.token not in await _everything_stored(db)
    finally:
        await db.dispose()


def test_the_sqlite_file_keeps_no_old_token_in_its_pages(tmp_path):
    """The table is rebuilt on SQLite; the pages it leaves are overwritten, not left on the
    free list with the tokens in them."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _run(lambda: _as_the_previous_release_left_it(url))
    upgrade(url)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("old.db")]
    assert files
    for path in files:
        assert OLD_TOKEN.encode() not in path.read_bytes(), path.name


async def test_the_schema_after_the_migrations_is_the_models(database_url):
    db = Database(database_url)
    try:
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": False}), Base.metadata
                )
            )
    finally:
        await db.dispose()
    assert differences == []


async def test_downgrade_then_upgrade_again(empty_database_url):
    url = empty_database_url
    await _as_the_previous_release_left_it(url)
    upgrade(url)
    _run_sync(command.downgrade, alembic_config(url), "0001")
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            columns = await conn.run_sync(lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("invites")])
        assert "token" in columns and "token_hash" not in columns
    finally:
        await db.dispose()
    upgrade(url)


def _run_sync(function, *args):
    """Alembic's environment runs its own event loop: give it a thread of its own."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()
