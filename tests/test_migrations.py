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


def _inserter(conn):
    """``add(table, **values)``: a row written as the release that made the table would have
    written it (times as the application stores them), returning its id."""

    async def add(table: str, **values: object) -> int:
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        statement = sa.text(f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id")
        times = [k for k, v in values.items() if isinstance(v, datetime)]
        if times:
            statement = statement.bindparams(*(sa.bindparam(k, type_=UTCDateTime()) for k in times))
        return (await conn.execute(statement, values)).scalar_one()

    return add


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


async def test_matrix_numbers_are_kept_as_the_previous_release_gave_them(empty_database_url):
    """The earlier release numbered the matrix afresh at each consolidation (each Member
    State's active comments in document order); the upgrade stores those numbers."""
    url = empty_database_url
    upgrade(url, "0003")
    now = datetime.now(UTC)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            add = _inserter(conn)

            body = await add("bodies", code="SOMHD", name="Health")
            states = [
                await add("member_states", name=n, code=c, timezone="UTC")
                for n, c in (("Thailand", "TH"), ("Cambodia", "KH"))
            ]
            contacts = [
                await add("contacts", name=f"D{s}", email="", role="delegate", body_id=body, state_id=s, created_at=now)
                for s in states
            ]
            consultation = await add(
                "consultations", name="plan", title="Plan", status="closed", allow_late=False,
                remind_everyone=False, created_at=now, draft_filename="plan.docx",
            )  # fmt: skip
            section = await add(
                "sections", consultation_id=consultation, position=0, ref="1", heading="One", level=1, paragraph=0
            )
            clauses = [
                await add(
                    "clauses",
                    consultation_id=consultation,
                    section_id=section,
                    position=p,
                    ref=f"1.{p}",
                    label=f"1.{p}",
                    text="x",
                    level=1,
                    paragraphs="[]",
                )
                for p in (1, 2)
            ]
            made = {}
            # (clause, state, minutes after now, status): written out of document order.
            for key, clause, state, minutes, status in (
                ("th-late-clause", 1, 0, 0, "active"),
                ("th-early-clause", 0, 0, 5, "active"),
                ("kh", 0, 1, 1, "active"),
                ("th-withdrawn", 0, 0, 2, "withdrawn"),
                ("th-early-second", 0, 0, 9, "active"),
            ):
                at = now + timedelta(minutes=minutes)
                made[key] = await add(
                    "comments", consultation_id=consultation, clause_id=clauses[clause], contact_id=contacts[state],
                    body_id=body, state_id=states[state], kind="te", text=key, status=status, late=False,
                    created_at=at, updated_at=at,
                )  # fmt: skip
    finally:
        await db.dispose()
    upgrade(url)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            numbers = dict((await conn.execute(sa.text("SELECT id, number FROM comments"))).all())
    finally:
        await db.dispose()
    assert {key: numbers[i] for key, i in made.items()} == {
        "th-early-clause": "TH-001",
        "th-early-second": "TH-002",
        "th-late-clause": "TH-003",
        "kh": "KH-001",
        "th-withdrawn": None,
    }


async def test_consultations_and_comments_from_before_clearance_go_on_as_they_were(empty_database_url):
    """Migration 0008: every consultation there was is off (no clearance asked), every
    comment drafted, so each goes on counting as it did."""
    url = empty_database_url
    upgrade(url, "0007")
    now = datetime.now(UTC)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            add = _inserter(conn)

            body = await add("bodies", code="SOMHD", name="Health")
            state = await add("member_states", name="Thailand", code="TH", timezone="UTC")
            contact = await add(
                "contacts", name="D", email="", role="delegate", body_id=body, state_id=state, created_at=now
            )
            consultation = await add(
                "consultations", name="plan", title="Plan", status="open", allow_late=False,
                remind_everyone=False, created_at=now, draft_filename="plan.docx",
            )  # fmt: skip
            section = await add(
                "sections", consultation_id=consultation, position=0, ref="1", heading="One", level=1, paragraph=0
            )
            clause = await add(
                "clauses", consultation_id=consultation, section_id=section, position=1, ref="1.1", label="1.1",
                text="x", level=1, paragraphs="[]",
            )  # fmt: skip
            await add(
                "comments", consultation_id=consultation, clause_id=clause, contact_id=contact, body_id=body,
                state_id=state, kind="te", text="t", status="active", late=False, created_at=now, updated_at=now,
                proposed_whole=True,
            )  # fmt: skip
    finally:
        await db.dispose()
    upgrade(url)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT clearance FROM stages"))).all() == [("off",)]
            rows = (await conn.execute(sa.text("SELECT clearance, cleared_late, merged_into FROM comments"))).all()
        async with db.session() as session:
            from bot.models import Consultation
            from bot.services import status

            report = await status.status_report(session, await session.scalar(sa.select(Consultation)))
    finally:
        await db.dispose()
    assert [(c, bool(late), merged) for c, late, merged in rows] == [("drafted", False, None)]
    assert report.total_comments == 1 and report.clearance == "off"


async def test_a_consultation_of_the_previous_release_becomes_v0_and_its_round_the_first_stage(empty_database_url):
    """Migration 0009: the draft, its sections and clauses become v0; the round (open, its
    deadline, late comments, schedule, clearance) the first stage, of comments; comments, "no
    comments" answers, the timetable and queued messages stay as they were and belong to it.
    The consultation then goes on: its status counts the same, it consolidates from v0's
    file, and it takes a new version once its stage is closed."""
    from documents.draft import parse_draft
    from tests.factories import small_draft

    url = empty_database_url
    upgrade(url, "0008")
    now = datetime.now(UTC).replace(microsecond=0)
    deadline = now + timedelta(days=20)
    draft = small_draft()
    parsed = parse_draft(draft)
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            add = _inserter(conn)

            body = await add("bodies", code="SOMHD", name="Health")
            state = await add("member_states", name="Thailand", code="TH", timezone="UTC")
            contact = await add(
                "contacts", name="Somchai", email="", role="delegate", body_id=body, state_id=state,
                created_at=now, chat_id=200, telegram_user_id=200,
            )  # fmt: skip
            consultation = await add(
                "consultations", name="plan", title="Plan of Action on Social Protection", status="open",
                deadline=deadline, opened_at=now, allow_late=True, reminder_schedule="7d,1d",
                remind_everyone=True, clearance="advisory", created_at=now, draft_filename="plan-v0.docx",
                draft_bytes=draft,
            )  # fmt: skip
            clause_ids: dict[str, int] = {}
            position = 0
            first_section = 0
            for s_index, parsed_section in enumerate(parsed.sections):
                section = await add(
                    "sections", consultation_id=consultation, position=s_index, ref=parsed_section.ref,
                    heading=parsed_section.heading, level=parsed_section.level, paragraph=parsed_section.paragraph,
                )  # fmt: skip
                first_section = first_section or section
                for parsed_clause in parsed_section.clauses:
                    clause_ids[parsed_clause.ref] = await add(
                        "clauses", consultation_id=consultation, section_id=section, position=position,
                        ref=parsed_clause.ref, label=parsed_clause.label, text=parsed_clause.text,
                        level=parsed_clause.level, paragraphs=str(list(parsed_clause.paragraphs)),
                    )  # fmt: skip
                    position += 1
            await add(
                "comments", consultation_id=consultation, clause_id=clause_ids["2.1"], contact_id=contact,
                body_id=body, state_id=state, kind="te", text="Name platform workers.", status="active",
                late=False, created_at=now, updated_at=now, proposed_whole=True, number="TH-001",
                disposition="accepted", clearance="cleared", cleared_late=False,
            )  # fmt: skip
            await add(
                "section_responses", consultation_id=consultation, section_id=first_section, contact_id=contact,
                body_id=body, state_id=state, created_at=now,
            )  # fmt: skip
            await add(
                "planned_jobs", consultation_id=consultation, kind="reminder", label="7d",
                due_at=deadline - timedelta(days=7), status="pending",
            )  # fmt: skip
            await add(
                "outbox", dedupe_key=f"intro:{consultation}:{contact}", kind="intro", contact_id=contact,
                chat_id=200, consultation_id=consultation, payload='{"text": "The round is open."}',
                status="queued", attempts=0, next_attempt_at=now, created_at=now,
            )  # fmt: skip
    finally:
        await db.dispose()

    upgrade(url)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            versions = (await conn.execute(sa.text("SELECT number, filename, title FROM versions"))).all()
            stages = (
                await conn.execute(
                    sa.text(
                        "SELECT position, kind, status, allow_late, reminder_schedule, remind_everyone, clearance "
                        "FROM stages"
                    )
                )
            ).all()
            orphans = {
                table: (await conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {column} IS NULL"))).scalar()
                for table, column in (
                    ("sections", "version_id"),
                    ("clauses", "version_id"),
                    ("comments", "stage_id"),
                    ("section_responses", "stage_id"),
                    ("planned_jobs", "stage_id"),
                )
            }
            queued = (await conn.execute(sa.text("SELECT dedupe_key, status FROM outbox"))).all()
        from bot.models import Consultation, RoundStatus
        from bot.services import consolidation, registry, rounds, status, timetable

        async with db.session() as session:
            plan = await session.scalar(sa.select(Consultation))
            assert plan.status == RoundStatus.OPEN and plan.deadline == deadline and plan.stage.position == 1
            report = await status.status_report(session, plan)
            jobs = await timetable.plan_of(session, plan)
            actor = registry.CONSOLE
            gathered = await consolidation.gather(session, actor, plan)
            await rounds.close_round(session, actor, plan, now=now + timedelta(days=21))
            await rounds.import_draft(session, _revised(small_draft()), "plan-v1.docx", version_of=plan)
            await session.commit()
        async with db.session() as session:
            plan = await session.scalar(sa.select(Consultation))
            v1_stage = (plan.stage.position, plan.stage.kind, plan.status, plan.version.number, plan.version.filename)
            v0_sections = len(await rounds.sections_of(session, plan, version_id=plan.versions[0].id))
            mapping = {(m["old"], m["new"]): m["kind"] for m in plan.version.mapping}
    finally:
        await db.dispose()
    assert versions == [(0, "plan-v0.docx", "Plan of Action on Social Protection")]
    assert [(p, k, s, bool(a), r, bool(e), c) for p, k, s, a, r, e, c in stages] == [
        (1, "comments", "open", True, "7d,1d", True, "advisory")
    ]
    assert orphans == dict.fromkeys(orphans, 0)
    assert queued == [(f"intro:{consultation}:{contact}", "queued")]
    assert report.total_comments == 1 and report.clearance == "advisory"
    assert [(j.kind, j.label, j.status) for j in jobs] == [("reminder", "7d", "pending")]
    assert gathered.draft == draft and [e.number for e in gathered.entries] == ["TH-001"]
    assert v1_stage == (2, "final", "draft", 1, "plan-v1.docx")
    assert v0_sections == len(parsed.sections)
    assert mapping[("2.2", "2.2")] == "changed" and mapping[("2.1", "2.1")] == "unchanged"


def _revised(draft: bytes) -> bytes:
    """The draft with clause 2.2 edited, as the Secretariat's v1 would be."""
    import io

    from docx import Document

    document = Document(io.BytesIO(draft))
    for paragraph in document.paragraphs:
        if paragraph.text.startswith("2.2 "):
            paragraph.text = "2.2 Sectoral bodies will report progress every year."
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
