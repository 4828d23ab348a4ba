from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.models import Clause, Outbox, RoundStatus, Section
from bot.rendering import RENDERER
from bot.services import outbox, registry, rounds
from bot.services.errors import InvalidInput, Refused
from bot.services.registry import CONSOLE
from documents.draft import DraftError
from tests.factories import at, small_draft
from tests.refusals import refused

NOW = at("2026-11-23T08:00:00")
JAKARTA = ZoneInfo("Asia/Jakarta")


async def _setup(session):
    for code in ("SOMHD", "SLOM"):
        await registry.add_body(session, code)
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    await registry.add_state(session, "Philippines", "PH", "Asia/Manila")
    outline = await rounds.import_draft(session, small_draft(), "plan.docx")
    return await rounds.resolve_consultation(session, outline.consultation)


async def _delegate(session, body, state, user_id):
    issued = await registry.issue_invite(session, CONSOLE, role="delegate", body=body, state=state, now=NOW)
    joined = await registry.join(
        session, issued.token, telegram_user_id=user_id, chat_id=user_id, username=None, full_name="D", now=NOW
    )
    return joined.actor


async def test_import_stores_sections_and_clauses_with_their_references(session):
    consultation = await _setup(session)
    assert consultation.status == RoundStatus.DRAFT
    assert consultation.title == "Plan of Action on Social Protection"
    refs = list(
        await session.scalars(
            select(Clause.ref).where(Clause.consultation_id == consultation.id).order_by(Clause.position)
        )
    )
    assert refs == ["1.1", "1.2", "2.1", "2.1.a", "2.1.b", "2.2", "3.1"]
    sections = list(await session.scalars(select(Section.ref).order_by(Section.position)))
    assert sections == ["1", "2", "3"]


async def test_a_broken_file_stores_nothing(session):
    with pytest.raises(DraftError):
        await rounds.import_draft(session, b"%PDF-1.4 not a word file", "draft.pdf")
    assert await session.scalar(select(func.count()).select_from(Section)) == 0


async def test_two_consultations_side_by_side_need_a_name(session):
    await _setup(session)
    await rounds.import_draft(session, small_draft("Framework"), "framework.docx")
    with refused(InvalidInput, "several consultations"):
        await rounds.resolve_consultation(session, None)
    found = await rounds.resolve_consultation(session, "framework")
    assert found.title == "Framework"


async def test_open_circulates_routed_sections_once(session):
    consultation = await _setup(session)
    health = await _delegate(session, "SOMHD", "Thailand", 11)
    labour = await _delegate(session, "SLOM", "Philippines", 12)
    await rounds.set_routes(session, CONSOLE, consultation, ["3"], ["SOMHD"])
    deadline = rounds.parse_deadline(None, days=60, tz=JAKARTA, now=NOW)
    opened = await rounds.open_round(session, CONSOLE, consultation, deadline, render=RENDERER, now=NOW)
    assert opened.contacts == 2
    by_contact = {}
    for row in await session.scalars(select(Outbox).where(Outbox.kind == "section")):
        by_contact.setdefault(row.contact_id, []).append(row.section_id)
    sections = {s.ref: s.id for s in await rounds.sections_of(session, consultation)}
    assert sorted(by_contact[health.contact_id]) == sorted(sections.values())
    assert sorted(by_contact[labour.contact_id]) == sorted([sections["1"], sections["2"]])
    # Circulating again (a restart, a second open attempt) queues nothing new.
    contact = await session.get(__import__("bot.models", fromlist=["Contact"]).Contact, health.contact_id)
    assert await rounds.circulate_to_contact(session, consultation, contact, render=RENDERER, now=NOW) == 0
    with refused(Refused, "already open"):
        await rounds.open_round(session, CONSOLE, consultation, deadline, render=RENDERER, now=NOW)


async def test_a_contact_joining_after_the_opening_gets_their_sections(session):
    consultation = await _setup(session)
    await rounds.open_round(session, CONSOLE, consultation, NOW + timedelta(days=10), render=RENDERER, now=NOW)
    late = await _delegate(session, "SLOM", "Thailand", 21)
    queued = await rounds.circulate_on_join(session, late.contact_id, render=RENDERER, now=NOW)
    assert queued == 1 + 3  # the introduction and three sections
    # Messages to one chat are spaced a second apart (Telegram's per-chat limit).
    first = await outbox.claim(session, now=NOW)
    assert [c.kind for c in first] == ["intro"]
    rest = await outbox.claim(session, now=NOW + timedelta(seconds=10))
    assert [c.kind for c in rest] == ["section"] * 3
    assert all(c.chat_id == 21 for c in first + rest)


def test_deadlines_from_days_and_dates():
    deadline = rounds.parse_deadline(None, days=60, tz=JAKARTA, now=NOW)
    local = deadline.astimezone(JAKARTA)
    assert (local.date() - NOW.astimezone(JAKARTA).date()).days == 60
    assert (local.hour, local.minute) == (23, 59)
    exact = rounds.parse_deadline("2027-01-22T17:00+07:00", days=None, tz=JAKARTA, now=NOW)
    assert exact == at("2027-01-22T10:00:00")
    with refused(InvalidInput, "not a date"):
        rounds.parse_deadline("next friday", days=None, tz=JAKARTA, now=NOW)
    with refused(InvalidInput, "already past"):
        rounds.parse_deadline("2020-01-01", days=None, tz=JAKARTA, now=NOW)


async def test_the_draft_of_an_open_round_cannot_be_replaced(session):
    consultation = await _setup(session)
    await rounds.open_round(session, CONSOLE, consultation, NOW + timedelta(days=5), render=RENDERER, now=NOW)
    with refused(Refused, "cannot be replaced"):
        await rounds.import_draft(session, small_draft(), "v2.docx", replace=consultation)
