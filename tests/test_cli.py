"""The `clausebot` command as an administrator uses it."""

from __future__ import annotations

import csv

import pytest

from bot.cli import build_parser, main
from bot.db import async_url
from tests.factories import small_draft


@pytest.fixture
def cli_env(monkeypatch, tmp_path, sqlite_template):
    import shutil

    db = tmp_path / "admin.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("BOT_USERNAME", "asean_consult_bot")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return tmp_path


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"run", "webhook", "demo", "import-draft", "consolidate", "db", "invite", "open"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        assert "usage: clausebot " + name in capsys.readouterr().out


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
    original = "name,role,body,state,email\nX,delegate,SOMHD,Narnia,x@example.org\nY,pilot,SLOM,Thailand,y@example.org\n"
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
    assert "SOMHD — 0 of 10 Member States responded" in capsys.readouterr().out
    out = cli_env / "out" / "consolidated.docx"
    assert main(["consolidate", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out.resolve())
    assert out.read_bytes()[:2] == b"PK"


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
    assert main(["close"]) == 0
    assert main(["extend", "--days", "1"]) == 1
