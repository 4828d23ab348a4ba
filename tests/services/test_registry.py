from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.models import Contact, Role
from bot.services import registry
from bot.services.errors import CsvRowErrors, InvalidInput, NotFound, Refused
from bot.services.registry import CONSOLE
from tests.factories import at
from tests.refusals import refused

NOW = at("2026-11-23T08:00:00")


async def _seed(session):
    await registry.add_body(session, "SOMHD", "Senior Officials Meeting on Health Development")
    await registry.add_body(session, "SLOM", "Senior Labour Officials Meeting")
    await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
    await registry.add_state(session, "Viet Nam", "VN", "Asia/Ho_Chi_Minh")


async def test_invite_then_join_binds_the_telegram_user(session):
    await _seed(session)
    issued = await registry.issue_invite(
        session, CONSOLE, role="delegate", body="somhd", state="TH", name="Somchai", now=NOW
    )
    assert issued.body_code == "SOMHD" and issued.state_name == "Thailand"
    joined = await registry.join(
        session, issued.token, telegram_user_id=42, chat_id=42, username="somchai", full_name="S", now=NOW
    )
    assert joined.actor.role == Role.DELEGATE
    assert joined.actor.label == "SOMHD – Thailand"
    assert joined.actor.timezone == "Asia/Bangkok"
    actor = await registry.actor_for_user(session, 42)
    assert actor is not None and actor.contact_id == issued.contact_id


async def test_used_expired_and_unknown_tokens_are_refused(session):
    await _seed(session)
    issued = await registry.issue_invite(session, CONSOLE, role="delegate", body="SLOM", state="Viet Nam", now=NOW)
    await registry.join(session, issued.token, telegram_user_id=1, chat_id=1, username=None, full_name="A", now=NOW)
    with refused(Refused, "already been used"):
        await registry.join(session, issued.token, telegram_user_id=2, chat_id=2, username=None, full_name="B", now=NOW)

    old = await registry.issue_invite(session, CONSOLE, role="delegate", body="SLOM", state="VN", ttl_days=1, now=NOW)
    with refused(Refused, "expired"):
        await registry.join(
            session, old.token, telegram_user_id=3, chat_id=3, username=None, full_name="C", now=NOW + timedelta(days=2)
        )
    with refused(Refused, "not valid"):
        await registry.join(
            session, "nosuchtoken123", telegram_user_id=4, chat_id=4, username=None, full_name="D", now=NOW
        )
    with refused(Refused, "not valid"):
        await registry.join(session, "<b>x</b>", telegram_user_id=4, chat_id=4, username=None, full_name="D", now=NOW)


async def test_a_registered_account_cannot_take_a_second_invite(session):
    await _seed(session)
    first = await registry.issue_invite(session, CONSOLE, role="delegate", body="SLOM", state="TH", now=NOW)
    second = await registry.issue_invite(session, CONSOLE, role="chair", body="SLOM", state=None, now=NOW)
    await registry.join(session, first.token, telegram_user_id=9, chat_id=9, username=None, full_name="A", now=NOW)
    with refused(Refused, "already registered"):
        await registry.join(session, second.token, telegram_user_id=9, chat_id=9, username=None, full_name="A", now=NOW)
    again = await registry.join(
        session, first.token, telegram_user_id=9, chat_id=9, username=None, full_name="A", now=NOW
    )
    assert again.already


async def test_invites_need_known_body_and_state(session):
    await _seed(session)
    with refused(NotFound, "Known bodies: SLOM, SOMHD"):
        await registry.issue_invite(session, CONSOLE, role="delegate", body="XYZ", state="TH")
    with refused(NotFound, "Known Member States"):
        await registry.issue_invite(session, CONSOLE, role="delegate", body="SLOM", state="Atlantis")
    with refused(InvalidInput, "body and a Member State"):
        await registry.issue_invite(session, CONSOLE, role="delegate", body="SLOM", state=None)
    with refused(InvalidInput, "not a role"):
        await registry.issue_invite(session, CONSOLE, role="king", body="SLOM", state="TH")
    secretariat = await registry.issue_invite(session, CONSOLE, role="secretariat", body=None, state=None)
    assert secretariat.role == Role.SECRETARIAT


async def test_a_focal_point_is_invited_for_a_member_state_and_none_of_its_bodies(session):
    await _seed(session)
    first = await registry.issue_invite(session, CONSOLE, role="focal", body=None, state="TH", name="Malee", now=NOW)
    second = await registry.issue_invite(session, CONSOLE, role="focal", body=None, state="Thailand", now=NOW)
    assert first.role == second.role == Role.FOCAL and first.state_name == "Thailand" and first.body_code is None
    joined = await registry.join(session, first.token, telegram_user_id=7, chat_id=7, username=None, full_name="M")
    assert joined.actor.is_focal and joined.actor.label == "Thailand" and joined.actor.timezone == "Asia/Bangkok"
    with refused(InvalidInput, "needs their Member State"):
        await registry.issue_invite(session, CONSOLE, role="focal", body=None, state=None)
    with refused(InvalidInput, "names no body"):
        await registry.issue_invite(session, CONSOLE, role="focal", body="SOMHD", state="Thailand")


async def test_csv_enrols_every_row_and_returns_links(session):
    await _seed(session)
    data = (
        "name,role,body,state,email\n"
        "Somchai,delegate,SOMHD,Thailand,somchai@example.org\n"
        "Lan,delegate,SLOM,VN,lan@example.org\n"
        "Chair Health,chair,SOMHD,,chair@example.org\n"
        "Malee,focal,,Thailand,malee@example.org\n"
    )
    fields, rows, invites = await registry.enrol_csv(session, CONSOLE, data, now=NOW)
    assert len(invites) == 4 and invites[3].role == Role.FOCAL and invites[3].state_name == "Thailand"
    out = registry.write_csv_with_links(fields, rows, [registry.invite_link("cbot", i.token) for i in invites])
    lines = out.strip().split("\n")
    assert lines[0] == "name,role,body,state,email,invite_link"
    assert lines[1].startswith("Somchai,delegate,SOMHD,Thailand,somchai@example.org,https://t.me/cbot?start=")
    assert len({line.rsplit("=", 1)[1] for line in lines[1:]}) == 4


async def test_csv_with_bad_rows_reports_each_line_and_enrols_nobody(session):
    await _seed(session)
    data = (
        "name,role,body,state,email\n"
        "Good,delegate,SOMHD,Thailand,good@example.org\n"
        "Bad body,delegate,NOPE,Thailand,x@example.org\n"
        "Bad mail,delegate,SLOM,Viet Nam,not-an-email\n"
    )
    with pytest.raises(CsvRowErrors) as caught:
        await registry.enrol_csv(session, CONSOLE, data, now=NOW)
    lines = [line for line, _ in caught.value.errors]
    assert lines == [3, 4]
    assert "NOPE" in texts.refusal(caught.value) and "not-an-email" in texts.refusal(caught.value)
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Contact)) == 0


async def test_csv_missing_columns_is_refused(session):
    with refused(CsvRowErrors, "missing column"):
        await registry.enrol_csv(session, CONSOLE, "name,email\nA,a@example.org\n")


async def test_only_the_hash_of_a_token_is_stored(session):
    import hashlib

    from bot.models import Invite

    await _seed(session)
    issued = await registry.issue_invite(session, CONSOLE, role="delegate", body="SOMHD", state="TH", now=NOW)
    stored = (await session.scalars(select(Invite))).one()
    assert stored.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in {getattr(stored, c.key) for c in Invite.__table__.columns}
    with refused(Refused, "not valid"):  # the hash is not a token
        await registry.join(
            session, stored.token_hash[:60], telegram_user_id=5, chat_id=5, username=None, full_name="E", now=NOW
        )
    joined = await registry.join(
        session, f"  {issued.token}\n", telegram_user_id=5, chat_id=5, username=None, full_name="E", now=NOW
    )
    assert joined.actor.label == "SOMHD – Thailand"


@pytest.mark.parametrize("days", [0, -5, 99999999])
async def test_an_invite_is_valid_for_one_day_or_more(session, days):
    await _seed(session)
    with refused(InvalidInput, "not a number of days"):
        await registry.issue_invite(session, CONSOLE, role="secretariat", body=None, state=None, ttl_days=days, now=NOW)
    with refused(InvalidInput, "not a number of days"):
        await registry.enrol_csv(session, CONSOLE, "name,role,body,state\nA,secretariat,,\n", ttl_days=days, now=NOW)
    assert await session.scalar(select(func.count()).select_from(Contact)) == 0


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("name,state\nJosé,Thailand\n".encode(), "utf-8"),
        ("\ufeffname,state\nJosé,Thailand\n".encode(), "utf-8-sig"),
        ("name,state\nJosé,Thailand\n".encode("utf-16"), "utf-16"),
        ("name,state\nJosé,Thailand\n".encode("utf-16-be").join([b"\xfe\xff", b""]), "utf-16"),
        ("name,state\nJosé “Pepe”,Thailand\n".encode("cp1252"), "cp1252"),
        ("name,state\nJosé,Thailand\n".encode("latin-1"), "cp1252"),
    ],
)
def test_contacts_files_are_read_in_what_spreadsheets_save(data, encoding):
    text, found = registry.decode_csv(data)
    assert found == encoding
    assert text.lstrip("\ufeff").splitlines()[1].startswith("José")


@pytest.mark.parametrize(
    "data",
    [
        "name,state\nJosé,Thailand\n".encode("utf-16-le"),  # UTF-16 without its mark
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",  # a workbook, not CSV
        b"name,state\n\x81\x8d\x8f\x90\x9d,Thailand\n",  # not Windows-1252 either
    ],
)
def test_a_file_in_no_known_encoding_is_not_read(data):
    assert registry.decode_csv(data) is None


async def test_csv_split_by_semicolons_or_tabs_is_read_and_written_back_the_same_way(session):
    await _seed(session)
    for sep in (";", "\t"):
        data = (
            sep.join(["name", "role", "body", "state", "email"])
            + "\n"
            + sep.join(["Dupont, Marie", "delegate", "SOMHD", "Thailand", "m@example.org"])
            + "\n"
        )
        assert registry.csv_delimiter(data) == sep
        fields, rows, _ = await registry.enrol_csv(session, CONSOLE, data, now=NOW)
        assert rows[0]["name"] == "Dupont, Marie"
        out = registry.write_csv_with_links(fields, rows, ["https://t.me/cbot?start=x"], delimiter=sep)
        assert out.splitlines()[1] == sep.join(
            ["Dupont, Marie", "delegate", "SOMHD", "Thailand", "m@example.org", "https://t.me/cbot?start=x"]
        )
    assert registry.csv_delimiter("name,role;x\n") == ","


async def test_add_state_refuses_a_region_for_a_zone(session):
    with refused(InvalidInput, "“Asia” is not a time zone name"):
        await registry.add_state(session, "Thailand", "TH", "Asia")
    state = await registry.add_state(session, "Thailand", "TH", "asia/bangkok")
    assert state.timezone == "Asia/Bangkok"
