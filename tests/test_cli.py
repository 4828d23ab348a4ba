"""The `clausebot` command as an administrator uses it."""

from __future__ import annotations

import argparse
import csv
import zipfile

import pytest

from bot.cli import build_parser, main
from bot.db import async_url
from tests.factories import small_draft


@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):
    """The command line in a folder of its own, on a migrated database (SQLite and PostgreSQL)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BOT_USERNAME", "asean_consult_bot")
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "WEBHOOK_SECRET", "INVITE_TTL_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def stored(database_url: str) -> dict[str, list]:
    """Every row of every table: what a refused command must leave as it was."""
    import sqlalchemy as sa

    from bot.db import Database
    from tests.conftest import _run

    async def dump():
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
                return {
                    name: sorted(map(repr, (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).all()))
                    for name in names
                }
        finally:
            await db.dispose()

    return _run(dump)


def _subcommands(parser, prefix=()):
    """Every command and sub-command, as the words that name it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _subcommands(sub, (*prefix, name))


def test_every_subcommand_has_help(capsys):
    commands = list(_subcommands(build_parser()))
    assert {
        ("run",),
        ("webhook",),
        ("demo",),
        ("import-draft",),
        ("consolidate",),
        ("export",),
        ("db",),
        ("invite",),
        ("open",),
        ("registry", "add-state"),
    } <= set(commands)
    for words in commands:
        with pytest.raises(SystemExit) as exit_:
            main([*words, "--help"])
        assert exit_.value.code == 0, words
        out = capsys.readouterr().out
        assert out.startswith("usage: clausebot " + " ".join(words)), (words, out[:80])


def test_run_without_a_token_says_how_to_get_one(cli_env, capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err and "@BotFather" in err and "clausebot demo" in err


def test_invite_prints_the_link_on_its_last_line(cli_env, capsys):
    assert main(["registry", "seed-asean"]) == 0
    assert main(["invite", "--role", "secretariat"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("https://t.me/asean_consult_bot?start=")
    assert main(["invite", "--role", "delegate", "--body", "SOMHD", "--state", "Viet Nam"]) == 0
    out = capsys.readouterr().out
    assert "SOMHD – Viet Nam" in out
    assert main(["invite", "--role", "delegate", "--body", "WHO", "--state", "Thailand"]) == 1
    assert "no body “WHO”" in capsys.readouterr().err
    assert main(["invite", "--role", "focal", "--state", "Thailand", "--name", "Malee"]) == 0
    out = capsys.readouterr().out
    assert "Invite for focal (Thailand)" in out and out.strip().splitlines()[-1].startswith("https://t.me/")
    assert main(["invite", "--role", "focal"]) == 1
    assert "needs their Member State" in capsys.readouterr().err


def test_invite_csv_writes_links_back_or_nothing(cli_env, capsys):
    main(["registry", "seed-asean"])
    contacts = cli_env / "contacts.csv"
    contacts.write_text(
        "name,role,body,state,email\n"
        "Somchai,delegate,SOMHD,Thailand,somchai@example.org\n"
        "Ana,chair,SLOM,,ana@example.org\n",
        encoding="utf-8",
    )
    assert main(["invite", "--csv", str(contacts)]) == 0
    rows = list(csv.DictReader(contacts.open(encoding="utf-8")))
    assert [r["name"] for r in rows] == ["Somchai", "Ana"]
    assert all(r["invite_link"].startswith("https://t.me/asean_consult_bot?start=") for r in rows)

    bad = cli_env / "bad.csv"
    original = (
        "name,role,body,state,email\nX,delegate,SOMHD,Narnia,x@example.org\nY,pilot,SLOM,Thailand,y@example.org\n"
    )
    bad.write_text(original, encoding="utf-8")
    assert main(["invite", "--csv", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "line 2:" in err and "Narnia" in err and "line 3:" in err and "pilot" in err
    assert bad.read_text(encoding="utf-8") == original


def test_import_open_status_and_consolidate(cli_env, capsys):
    main(["registry", "seed-asean"])
    draft = cli_env / "plan.docx"
    draft.write_bytes(small_draft())
    assert main(["import-draft", str(draft), "--name", "plan"]) == 0
    assert "3 sections, 7 clauses" in capsys.readouterr().out
    not_word = cli_env / "notes.docx"
    not_word.write_bytes(b"just text")
    assert main(["import-draft", str(not_word)]) == 1
    assert "Nothing was stored" in capsys.readouterr().err
    assert main(["open", "--consultation", "plan", "--deadline", "2020-01-01"]) == 1
    assert "already past" in capsys.readouterr().err
    assert main(["open", "--days", "30"]) == 0
    assert main(["status"]) == 0
    shown = capsys.readouterr().out
    assert "SOMHD — 0 of 10 Member States responded" in shown
    # How sending goes: nothing runs here; the round's messages wait in the queue.
    assert "No instance of the bot is running: 0.0 messages a second" in shown
    assert "messages in the outgoing queue; no answer of 429" in shown
    out = cli_env / "out" / "consolidated.docx"
    assert main(["consolidate", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out.resolve())
    assert out.read_bytes()[:2] == b"PK"
    # No comment has an answer yet: publishing says so and sends nothing.
    assert main(["answers", "publish"]) == 0
    assert "Nothing new to tell" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/clausebot.db", "sqlite+aiosqlite:///data/clausebot.db"),
        ("postgresql://bot@db.internal/clausebot", "postgresql+asyncpg://bot@db.internal/clausebot"),
        ("postgres://bot:pw@localhost:5433/cb", "postgresql+asyncpg://bot:pw@localhost:5433/cb"),
    ],
)
def test_plain_database_urls_get_an_async_driver(given, expected):
    assert async_url(given).render_as_string(hide_password=False) == expected


def test_reminder_plan_deadline_and_late_comments_from_the_command_line(cli_env, capsys):
    main(["registry", "seed-asean"])
    draft = cli_env / "plan.docx"
    draft.write_bytes(small_draft())
    main(["import-draft", str(draft)])
    assert main(["extend", "--days", "3"]) == 1
    assert "is not open" in capsys.readouterr().err
    main(["open", "--days", "60"])
    capsys.readouterr()
    assert main(["reminders", "--schedule", "21d,2d", "--everyone"]) == 0
    plan = capsys.readouterr().out
    assert "Schedule: 21d,2d before the deadline, to every delegate" in plan
    assert plan.count("reminder 21d") == 1 and "reminder 30d" not in plan
    assert main(["reminders", "--schedule", "soon"]) == 1
    assert "not a duration" in capsys.readouterr().err
    assert main(["extend", "--days", "7"]) == 0
    assert "New deadline" in capsys.readouterr().out
    assert main(["late", "on"]) == 0
    assert "are accepted" in capsys.readouterr().out
    assert main(["clearance", "required"]) == 0
    out = capsys.readouterr().out
    assert "required (a comment reaches the Secretariat only once" in out and "<b>" not in out
    assert main(["clearance"]) == 0
    assert "Clearance by the national focal points" in capsys.readouterr().out
    assert main(["close"]) == 0
    assert main(["extend", "--days", "1"]) == 1


# --- bad input: one line, the right exit status, nothing changed ---------------------------------------


def _draft(cli_env, capsys, *names):
    main(["registry", "seed-asean"])
    for name in names:
        draft = cli_env / f"{name}.docx"
        draft.write_bytes(small_draft(name.title()))
        assert main(["import-draft", str(draft), "--name", name]) == 0
    capsys.readouterr()


def _refused(capsys, argv, code, message, database_url):
    before = stored(database_url)
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.err == message + "\n"
    assert captured.out == ""
    assert stored(database_url) == before


def test_a_region_is_not_a_time_zone(cli_env, capsys, database_url):
    _refused(
        capsys,
        ["registry", "add-state", "Atlantis", "AT", "--timezone", "Asia"],
        1,
        "“Asia” is not a time zone name; use one like Asia/Bangkok.",
        database_url,
    )
    assert main(["registry", "add-state", "Atlantis", "AT", "--timezone", "asia/yangon"]) == 0
    assert "Member State Atlantis (AT, Asia/Yangon) registered." in capsys.readouterr().out


@pytest.mark.parametrize("days", ["99999999", "-1", "123456789012345678901234567890"])
def test_open_refuses_a_window_out_of_range(cli_env, capsys, database_url, days):
    _draft(cli_env, capsys, "plan")
    _refused(capsys, ["open", "--days", days], 1, f"“{days}” is not a number of days between 1 and 3650.", database_url)


@pytest.mark.parametrize("days", ["99999999", "0", "-3"])
def test_extend_refuses_days_out_of_range(cli_env, capsys, database_url, days):
    _draft(cli_env, capsys, "plan")
    assert main(["open", "--days", "30"]) == 0
    capsys.readouterr()
    _refused(
        capsys, ["extend", "--days", days], 1, f"“{days}” is not a number of days between 1 and 3650.", database_url
    )


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("-5", "“-5” is not a number of days from 1 to 365"),
        ("0", "“0” is not a number of days from 1 to 365"),
        ("400", "“400” is not a number of days from 1 to 365"),
        ("soon", "“soon” is not a whole number of days"),
    ],
)
def test_invite_days_must_be_one_to_365(cli_env, capsys, database_url, days, message):
    main(["registry", "seed-asean"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["invite", "--role", "secretariat", "--days", days])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"clausebot invite: argument --days: {message} (see clausebot invite --help)\n"
    assert main(["invite", "--role", "secretariat", "--days", "1"]) == 0
    assert "valid until" in capsys.readouterr().out


def test_invite_days_of_the_settings_are_checked_too(cli_env, capsys, database_url, monkeypatch):
    main(["registry", "seed-asean"])
    capsys.readouterr()
    monkeypatch.setenv("INVITE_TTL_DAYS", "0")
    _refused(
        capsys, ["invite", "--role", "secretariat"], 1, "“0” is not a number of days between 1 and 3650.", database_url
    )


CONTACTS = "name,role,body,state,email\nJosé Müller,delegate,SOMHD,Thailand,jose@example.org\nĐặng,chair,SLOM,,dang@example.org\n"


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("utf-8", CONTACTS.encode("utf-8")),
        ("utf-8-sig", CONTACTS.encode("utf-8-sig")),
        ("utf-16", CONTACTS.encode("utf-16")),
        ("cp1252", CONTACTS.replace("Đặng", "Dang").encode("cp1252")),  # Excel's "CSV (Comma delimited)"
        (
            "cp1252",
            CONTACTS.replace("Đặng", "Dang").replace(",", ";").encode("cp1252"),
        ),  # where "," is the decimal mark
    ],
)
def test_invite_csv_reads_what_spreadsheets_save_and_writes_it_back_alike(
    cli_env, capsys, database_url, encoding, data
):
    main(["registry", "seed-asean"])
    contacts = cli_env / "contacts.csv"
    contacts.write_bytes(data)
    assert main(["invite", "--csv", str(contacts)]) == 0
    assert "Enrolled 2 contact(s)" in capsys.readouterr().out
    text = contacts.read_bytes().decode(encoding)
    delimiter = ";" if ";" in text.splitlines()[0] else ","
    rows = list(csv.DictReader(text.lstrip("\ufeff").splitlines(), delimiter=delimiter))
    assert rows[0]["name"] == "José Müller"
    assert all(r["invite_link"].startswith("https://t.me/asean_consult_bot?start=") for r in rows)
    assert contacts.read_bytes().startswith(data[:3] if encoding != "utf-8" else b"name")


@pytest.mark.parametrize(
    "data",
    [
        CONTACTS.encode("utf-16-le"),  # UTF-16 without its byte order mark
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00 a workbook",
        b"name,role,body,state,email\n\x81\x8d,delegate,SOMHD,Thailand,\n",
    ],
)
def test_invite_csv_in_no_known_encoding_says_how_to_save_it(cli_env, capsys, database_url, data):
    main(["registry", "seed-asean"])
    capsys.readouterr()
    contacts = cli_env / "contacts.csv"
    contacts.write_bytes(data)
    _refused(
        capsys,
        ["invite", "--csv", str(contacts)],
        1,
        f"{contacts} is not a CSV text file in UTF-8, UTF-16 or Windows-1252: in the spreadsheet, save it as "
        "“CSV UTF-8 (Comma delimited) (*.csv)”. Nothing was changed.",
        database_url,
    )
    assert contacts.read_bytes() == data


def test_export_writes_the_whole_record_as_one_zip_or_says_why_not(cli_env, capsys, database_url):
    _draft(cli_env, capsys, "plan")
    out = cli_env / "records" / "plan.zip"
    assert main(["export", "plan", "--out", str(out)]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert said[0].startswith("Exported plan: 3 file(s), ") and said[0].endswith(" KB.")
    assert said[-1] == str(out.resolve())
    assert zipfile.ZipFile(out).namelist() == ["README.txt", "record.json", "versions/v0-plan.docx"]
    # An unknown consultation, a path that cannot be written: one line, status 1, nothing changed.
    _refused(
        capsys,
        ["export", "nope", "--out", str(cli_env / "nope.zip")],
        1,
        "There is no consultation “nope”. Consultations: plan.",
        database_url,
    )
    assert not (cli_env / "nope.zip").exists()
    folder = cli_env / "folder"
    folder.mkdir()
    _refused(
        capsys,
        ["export", "plan", "--out", str(folder)],
        1,
        f"Cannot write {folder}: Is a directory. Nothing was exported.",
        database_url,
    )
    assert not any(p.suffix in (".zip", ".tmp") for p in cli_env.iterdir())
    assert list(folder.iterdir()) == []


def test_without_a_name_every_consultation_is_listed_whatever_its_state(cli_env, capsys, database_url):
    _draft(cli_env, capsys, "plan", "framework")
    _refused(capsys, ["status"], 1, "There are several consultations (plan, framework); name one.", database_url)
    assert main(["open", "--consultation", "plan", "--days", "10"]) == 0
    assert main(["close", "--consultation", "plan"]) == 0
    capsys.readouterr()
    _refused(
        capsys,
        ["extend", "--days", "3"],
        1,
        "There are several consultations (plan, framework); name one.",
        database_url,
    )


# --- Telegram out of reach -------------------------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_invite_offline_uses_bot_username_or_the_database(cli_env, capsys, database_url, monkeypatch):
    main(["registry", "seed-asean"])
    capsys.readouterr()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAE" + "t" * 32)
    monkeypatch.setenv("TELEGRAM_API_URL", f"http://127.0.0.1:{_closed_port()}")
    assert main(["invite", "--role", "secretariat"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("https://t.me/asean_consult_bot?start=")

    monkeypatch.delenv("BOT_USERNAME")
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("TELEGRAM_API_URL", url)
    _refused(
        capsys,
        ["invite", "--role", "secretariat"],
        1,
        f"Cannot learn the bot's username: Telegram unreachable at {url} (ClientConnectorError: Cannot connect to "
        f"host 127.0.0.1:{url.rsplit(':', 1)[1]} ssl:default [Connect call failed ('127.0.0.1', {url.rsplit(':', 1)[1]})]). "
        "Set BOT_USERNAME to the bot's username (without @), or try again when Telegram can be reached; "
        "nothing was issued.",
        database_url,
    )

    from bot.services import registry
    from tests.conftest import _run

    async def remember():
        from bot.db import Database

        db = Database(database_url)
        async with db.session() as session:
            await registry.set_meta(session, "bot_username", "stored_bot")
        await db.dispose()

    _run(remember)
    assert main(["invite", "--role", "delegate", "--body", "SLOM", "--state", "TH"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("https://t.me/stored_bot?start=")


def test_invite_without_token_or_username_says_how_to_set_it(cli_env, capsys, database_url, monkeypatch):
    monkeypatch.delenv("BOT_USERNAME")
    main(["registry", "seed-asean"])
    capsys.readouterr()
    _refused(
        capsys,
        ["invite", "--role", "secretariat"],
        1,
        "The bot's username is not known yet: start the bot once with its token (clausebot run), or set BOT_USERNAME.",
        database_url,
    )


def test_an_unreachable_database_gets_one_line(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{_closed_port()}/nothing")
    assert main(["consultations"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("The database could not be used (") and err.endswith(
        "Check DATABASE_URL and that the database is running.\n"
    )
    assert err.count("\n") == 1


def test_a_setting_that_cannot_be_read_gets_one_line(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert main(["status"]) == 2
    assert capsys.readouterr().err == (
        "Configuration error: TIMEZONE: unknown time zone 'Mars/Olympus' (use an IANA name such as Asia/Jakarta)\n"
    )


# --- a webhook needs its secret -----------------------------------------------------------------------------


def test_a_webhook_replica_without_a_secret_does_not_start(cli_env, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")
    assert main(["webhook", "--port", str(_closed_port())]) == 2
    assert capsys.readouterr().err.startswith("WEBHOOK_SECRET is not set. Without --url")
    assert main(["webhook", "--secret", "not secret!", "--url", "https://bot.example.org"]) == 2
    assert capsys.readouterr().err == (
        "WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them), as Telegram requires.\n"
    )


# --- a closed pipe -------------------------------------------------------------------------------------------


def test_status_into_a_closed_pipe_stops_quietly(cli_env, capsys, database_url):
    import os
    import subprocess
    import sys

    _draft(cli_env, capsys, "plan")
    assert main(["open", "--days", "30"]) == 0
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line: `clausebot status | head -0`
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "status"],
            stdout=write,
            stderr=subprocess.PIPE,
            env={**os.environ, "DATABASE_URL": database_url},
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


def _calc_resave(source, folder):
    """The workbook opened and saved again by LibreOffice Calc, headless, as .xlsx."""
    import os
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CLAUSEBOT_REQUIRE_OFFICE") == "1":
            pytest.fail("CLAUSEBOT_REQUIRE_OFFICE=1 but soffice is not on PATH")
        pytest.skip("LibreOffice is not installed")
    out = folder / "calc"
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{folder / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    saved = out / source.name
    assert saved.exists(), result.stderr.decode(errors="replace") + result.stdout.decode(errors="replace")
    return saved


@pytest.mark.parametrize("saved_by", ["openpyxl", "LibreOffice Calc"])
def test_answers_from_the_matrix_filled_in_and_sent_back(cli_env, database_url, capsys, saved_by):
    import io

    import openpyxl
    from sqlalchemy import select

    from bot.db import Database
    from bot.models import Comment
    from documents.matrix import DISPOSITION_HEADER, OBSERVATION_HEADER
    from tests.conftest import _run
    from tests.services.test_answers import _round

    async def make_round():
        db = Database(database_url)
        try:
            async with db.session() as session:
                await _round(session)
        finally:
            await db.dispose()

    async def answers_stored():
        db = Database(database_url)
        try:
            async with db.session() as session:
                rows = await session.execute(select(Comment.number, Comment.disposition, Comment.observation))
                return {number: (d, o) for number, d, o in rows}
        finally:
            await db.dispose()

    _run(make_round)
    out = cli_env / "out" / "plan.docx"
    assert main(["consolidate", "--out", str(out)]) == 0
    matrix = out.with_name("plan-comment-matrix.xlsx")
    workbook = openpyxl.load_workbook(matrix)
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    wanted = {
        "TH-001": ("Accepted in part", "Every 18 months, with a baseline in 2027."),
        "KH-001": ("Accepted", None),
        "TH-002": ("Not accepted", "The Board reviews it; see 3.2."),
    }
    for row in sheet.iter_rows(min_row=2):
        disposition, observation = wanted[row[0].value]
        row[header.index(DISPOSITION_HEADER)].value = disposition
        row[header.index(OBSERVATION_HEADER)].value = observation
    edited = cli_env / "answers.xlsx"
    workbook.save(edited)
    if saved_by == "LibreOffice Calc":
        edited = _calc_resave(edited, cli_env)
    capsys.readouterr()

    assert main(["answers", "import", str(edited)]) == 0
    preview = capsys.readouterr().out
    assert "3 new answer(s), 0 changed" in preview and "--apply" in preview
    assert set(_run(answers_stored).values()) == {(None, None)}

    assert main(["answers", "import", str(edited), "--apply"]) == 0
    assert "Stored: 3 answer(s)" in capsys.readouterr().out
    assert main(["answers", "history", "TH-002"]) == 0
    shown = capsys.readouterr().out
    assert "Answer now: Not accepted" in shown and "no answer → Not accepted" in shown and "the command line" in shown
    assert main(["answers", "history", "TH-999"]) == 1
    assert "no comment numbered" in capsys.readouterr().err
    codes = {"Accepted": "accepted", "Accepted in part": "partly", "Not accepted": "rejected"}
    assert _run(answers_stored) == {n: (codes[d], o) for n, (d, o) in wanted.items()}

    # Compiled again, the matrix gives the same answers back; sent again, it changes nothing.
    assert main(["consolidate", "--out", str(out)]) == 0
    again = openpyxl.load_workbook(io.BytesIO(matrix.read_bytes())).active
    assert {
        r[0]: (r[header.index(DISPOSITION_HEADER)], r[header.index(OBSERVATION_HEADER)])
        for r in again.iter_rows(min_row=2, values_only=True)
    } == wanted
    capsys.readouterr()
    assert main(["answers", "import", str(matrix)]) == 0
    assert "Nothing to store" in capsys.readouterr().out


def test_a_matrix_with_refused_rows_stores_nothing(cli_env, database_url, capsys):
    import openpyxl

    from bot.db import Database
    from tests.conftest import _run
    from tests.services.test_answers import _round

    async def make_round():
        db = Database(database_url)
        try:
            async with db.session() as session:
                await _round(session)
        finally:
            await db.dispose()

    _run(make_round)
    out = cli_env / "plan.docx"
    assert main(["consolidate", "--out", str(out)]) == 0
    matrix = out.with_name("plan-comment-matrix.xlsx")
    workbook = openpyxl.load_workbook(matrix)
    sheet = workbook.active
    sheet["I2"] = "maybe"
    sheet.append(["TH-999", "SOMHD", "Thailand", "1.1", 1, "te", "x", None, "Accepted", None])
    workbook.save(matrix)
    before = stored(database_url)
    capsys.readouterr()
    assert main(["answers", "import", str(matrix), "--apply"]) == 1
    printed = capsys.readouterr().out
    assert "2 row(s) refused: row 2: disposition ‘maybe’; row 5: unknown number TH-999" in printed
    assert "Nothing was changed" in printed
    assert stored(database_url) == before

    not_a_workbook = cli_env / "notes.xlsx"
    not_a_workbook.write_text("name;amount\n", encoding="utf-8")
    assert main(["answers", "import", str(not_a_workbook)]) == 1
    err = capsys.readouterr().err
    assert "not an Excel workbook" in err and "Traceback" not in err
    macro = cli_env / "answers.xlsm"
    macro.write_bytes(matrix.read_bytes())
    assert main(["answers", "import", str(macro)]) == 1
    assert "macros" in capsys.readouterr().err
    assert main(["answers", "import", str(cli_env / "missing.xlsx")]) == 1
    assert "No such file" in capsys.readouterr().err
    assert stored(database_url) == before


def test_the_next_version_and_endorsement_from_the_command_line(cli_env, capsys, database_url):
    from tests.conversations.test_stages import draft_with_a_doubtful_match

    _draft(cli_env, capsys, "plan")
    assert main(["open", "--days", "30"]) == 0
    assert main(["close"]) == 0
    v1 = cli_env / "plan-v1.docx"
    v1.write_bytes(draft_with_a_doubtful_match())
    capsys.readouterr()
    # A dry run shows the doubtful matches and stores nothing.
    before = stored(database_url)
    assert main(["import-draft", str(v1), "--version-of", "plan", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert "3.2 new" in shown and "% sure" in shown and "--match" in shown and "Nothing was stored" in shown
    assert stored(database_url) == before
    assert main(["import-draft", str(v1), "--version-of", "plan", "--match", "9.9 = 2.2"]) == 1
    assert "no clause “9.9”" in capsys.readouterr().err
    assert main(["import-draft", str(v1), "--version-of", "plan", "--match", "3.2 new"]) == 0
    out = capsys.readouterr().out
    assert "Stored as v1" in out and "to check" not in out
    # Endorsement with the silence procedure; no comment is waiting for an answer.
    assert main(["open", "--kind", "endorsement", "--silence", "--days", "30"]) == 0
    assert "as a silence procedure" in capsys.readouterr().out
    assert main(["close"]) == 0
    assert "closed before its deadline" in capsys.readouterr().out
