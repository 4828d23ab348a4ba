"""The `clausebot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot import texts
from bot.config import Settings

log = logging.getLogger("clausebot")

NO_TOKEN = """\
TELEGRAM_BOT_TOKEN is not set.

To run Clausebot on Telegram you need a bot token:
  1. In Telegram, open a chat with @BotFather and send /newbot.
  2. Choose a name and a username ending in "bot"; BotFather replies with a token
     like 123456789:AAE....
  3. Put it in the environment or in a .env file next to where you run the bot:
         TELEGRAM_BOT_TOKEN=123456789:AAE...

To see the bot work without Telegram, run a whole consultation offline:
  clausebot demo --out consolidated.docx
"""


def _plain(text: str) -> str:
    """Chat texts are HTML; the terminal wants them plain."""
    import html
    import re

    return html.unescape(re.sub(r"</?(b|i|u|s|code|pre|blockquote|a)[^>]*>", "", text))


def load_settings(args) -> Settings:
    overrides = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SystemExit(f"Configuration error: {exc}") from None


async def _with_session(settings: Settings, work):
    from bot.db import Database, upgrade_async

    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            return await work(session)
    finally:
        await db.dispose()


def _fail(message: str, code: int = 1) -> int:
    print(_plain(message), file=sys.stderr)
    return code


class CommandFailed(Exception):
    """A refusal to report on standard error with exit status 1; nothing was changed."""


def _call(settings: Settings, work):
    """Run `work(session)` as one unit of work; a refusal rolls it back and fails the command."""
    from bot.services.errors import ServiceError
    from documents.draft import DraftError

    try:
        return asyncio.run(_with_session(settings, work))
    except ServiceError as exc:
        raise CommandFailed(texts.refusal(exc)) from exc
    except DraftError as exc:
        raise CommandFailed(f"{exc}\nNothing was stored.") from exc


# --- commands ---------------------------------------------------------------------------------------


def cmd_run(args) -> int:
    settings = load_settings(args)
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import build_application
    from bot.db import upgrade

    upgrade(settings.database_url)
    application = build_application(settings)
    log.info("starting long polling against %s", settings.telegram_api_url)
    application.run_polling(allowed_updates=["message", "callback_query"], drop_pending_updates=False)
    return 0


def cmd_webhook(args) -> int:
    settings = load_settings(args)
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from bot.app import build_application
    from bot.db import upgrade
    from bot.webhook import run_webhook

    upgrade(settings.database_url)
    application = build_application(settings)
    asyncio.run(
        run_webhook(
            application,
            listen=args.listen,
            port=args.port,
            path=args.path,
            public_url=args.url,
            secret=args.secret or os.environ.get("WEBHOOK_SECRET"),
        )
    )
    return 0


def cmd_db(args) -> int:
    settings = load_settings(args)
    from bot.db import upgrade

    if args.action == "upgrade":
        upgrade(settings.database_url)
        print("Database is up to date.")
    return 0


def cmd_import(args) -> int:
    settings = load_settings(args)
    path = Path(args.file)
    if not path.is_file():
        return _fail(f"No such file: {path}")
    from bot.services import rounds

    async def work(session):
        replace = await rounds.resolve_consultation(session, args.replace) if args.replace else None
        return await rounds.import_draft(
            session, path.read_bytes(), path.name, name=args.name, replace=replace, max_bytes=settings.max_upload_bytes
        )

    outline = _call(settings, work)
    print(_plain(texts.outline(outline, heading="Imported")))
    return 0


async def _bot_username(session, settings: Settings) -> str | None:
    from bot.services import registry

    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    stored = await registry.get_meta(session, "bot_username")
    if stored:
        return stored
    if settings.token:
        from telegram import Bot

        async with Bot(settings.token, base_url=f"{settings.telegram_api_url}/bot") as bot:
            return bot.username
    return None


def cmd_invite(args) -> int:
    settings = load_settings(args)
    from bot.services import registry

    if args.csv:
        source = Path(args.csv)
        if not source.is_file():
            return _fail(f"No such file: {source}")
        target = Path(args.out) if args.out else source

        async def work_csv(session):
            username = await _bot_username(session, settings)
            if not username:
                raise CommandFailed(texts.no_bot_username())
            fields, rows, invites = await registry.enrol_csv(
                session, registry.CONSOLE, source.read_text(encoding="utf-8-sig"), ttl_days=settings.invite_ttl_days
            )
            links = [registry.invite_link(username, i.token) for i in invites]
            output = registry.write_csv_with_links(fields, rows, links)
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_text(output, encoding="utf-8")
            tmp.replace(target)
            return len(invites)

        count = _call(settings, work_csv)
        print(f"Enrolled {count} contact(s); invite links written to {target}")
        return 0

    if not args.role:
        return _fail("Give --role (delegate, chair or secretariat) or --csv FILE.")

    async def work(session):
        username = await _bot_username(session, settings)
        if not username:
            raise CommandFailed(texts.no_bot_username())
        issued = await registry.issue_invite(
            session, registry.CONSOLE,
            role=args.role,
            body=args.body,
            state=args.state,
            name=args.name or "",
            email=args.email or "",
            ttl_days=args.days or settings.invite_ttl_days,
        )
        return issued, registry.invite_link(username, issued.token)

    issued, link = _call(settings, work)
    label = texts.author_label(issued.body_code, issued.state_name)
    print(f"Invite for {issued.role} ({label}), single use, valid until {texts.when(issued.expires_at, settings.tz)}:")
    print(link)
    return 0


def cmd_registry(args) -> int:
    settings = load_settings(args)
    from bot.services import registry

    async def work(session):
        if args.registry_action == "seed-asean":
            bodies, states = await registry.seed_asean(session)
            return [f"Registered {bodies} sectoral bodies and {states} Member States."]
        if args.registry_action == "add-body":
            body = await registry.add_body(session, args.code, args.name or "")
            return [f"Body {body.code} registered."]
        if args.registry_action == "add-state":
            state = await registry.add_state(session, args.name, args.code, args.timezone)
            return [f"Member State {state.name} ({state.code}, {state.timezone}) registered."]
        lines = ["Bodies:"] + [f"  {b.code:10} {b.name}" for b in await registry.list_bodies(session)]
        lines += ["Member States:"] + [f"  {s.code:4} {s.name:20} {s.timezone}" for s in await registry.list_states(session)]
        return lines

    lines = _call(settings, work)
    print("\n".join(lines))
    return 0


def cmd_route(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        if args.body:
            sections = [] if not args.section or args.section == ["all"] else args.section
            table = await rounds.set_routes(session, _console(), consultation, sections, args.body)
        else:
            table = await rounds.routing_table(session, consultation)
        return consultation.name, table

    name, table = _call(settings, work)
    print(_plain(texts.routing(name, table)))
    return 0


def cmd_open(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds
    from bot.services.timetable import timing_from

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        now = datetime.now(UTC)
        deadline = rounds.parse_deadline(
            args.deadline, days=args.days if args.days is not None else settings.default_round_days, tz=settings.tz, now=now
        )
        return await rounds.open_round(session, _console(), consultation, deadline, render=_renderer(), now=now, timing=timing_from(settings))

    opened = _call(settings, work)
    print(_plain(texts.opened(opened, settings.tz)))
    print("A running bot sends the queued messages within seconds.")
    return 0


def _renderer():
    from bot.rendering import RENDERER

    return RENDERER


def _console():
    """The person at the command line acts as the Secretariat."""
    from bot.services.registry import CONSOLE

    return CONSOLE


def cmd_close(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds, timetable

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        await rounds.close_round(session, _console(), consultation)
        await rounds.announce_close(session, consultation, timetable.timing_from(settings), render=_renderer(), now=datetime.now(UTC))
        return consultation.name

    name = _call(settings, work)
    print(_plain(texts.closed(name)))
    return 0


def cmd_extend(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds, timetable

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        now = datetime.now(UTC)
        deadline = rounds.extended_deadline(consultation, days=args.days, value=args.deadline, tz=settings.tz, now=now)
        told = await rounds.change_deadline(session, _console(), consultation, deadline, timetable.timing_from(settings), render=_renderer(), now=now)
        return consultation.title, deadline, told

    title, deadline, told = _call(settings, work)
    print(_plain(texts.deadline_changed(title, deadline, settings.tz, told)))
    return 0


def cmd_late(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        await rounds.set_allow_late(session, _console(), consultation, args.setting == "on")
        return consultation.title

    title = _call(settings, work)
    print(_plain(texts.late_comments(title, args.setting == "on")))
    return 0


def cmd_reminders(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds, timetable

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        timing = timetable.timing_from(settings)
        if args.schedule is not None or args.everyone is not None:
            await timetable.set_schedule(
                session, _console(), consultation, timing, schedule=args.schedule, everyone=args.everyone, now=datetime.now(UTC)
            )
        jobs = await timetable.plan_of(session, consultation)
        return texts.reminder_plan(
            consultation.title, timetable.schedule_of(consultation, timing), consultation.remind_everyone, jobs, settings.tz
        )

    text = _call(settings, work)
    print(_plain(text))
    return 0


def cmd_status(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds, status

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        return await status.status_report(session, consultation)

    report = _call(settings, work)
    print(_plain(texts.status_report(report, settings.tz, datetime.now(UTC))))
    return 0


def cmd_consultations(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds

    async def work(session):
        return [(c.name, c.title, c.status, c.deadline) for c in await rounds.all_consultations(session)]

    rows = asyncio.run(_with_session(settings, work))
    print(_plain(texts.consultations_list(rows, settings.tz)))
    return 0


def cmd_consolidate(args) -> int:
    settings = load_settings(args)
    from bot.services import consolidation, rounds

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        return await consolidation.gather(session, _console(), consultation)

    data = _call(settings, work)
    outputs = asyncio.run(consolidation.compile_outputs(data))
    out = Path(args.out)
    proposals = Path(args.proposals) if args.proposals else out.with_name(out.stem + "-with-proposals.docx")
    matrix = Path(args.matrix) if args.matrix else out.with_name(out.stem + "-comment-matrix.xlsx")
    for path, content in ((proposals, outputs.proposals), (matrix, outputs.matrix), (out, outputs.consolidated)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    print(f"{len(data.entries)} comment(s) consolidated.")
    print(f"Draft with proposals as tracked changes: {proposals.resolve()}")
    print(f"Comment matrix: {matrix.resolve()}")
    print(out.resolve())
    return 0


def cmd_demo(args) -> int:
    from bot.demo import run_demo

    return asyncio.run(
        run_demo(out=Path(args.out), delegates=args.delegates, comments=args.comments, database=args.database, quiet=args.quiet)
    )


# --- parser ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clausebot",
        description="Run a written consultation on a draft document in Telegram, clause by clause.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, func, *, db: bool = True):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if db:
            p.add_argument("--database", metavar="URL", help="database URL (default: DATABASE_URL or sqlite:///clausebot.db)")
        p.set_defaults(func=func)
        return p

    add("run", "Run the bot with long polling (needs TELEGRAM_BOT_TOKEN).", cmd_run)
    p = add("webhook", "Serve Telegram's webhook (behind a reverse proxy).", cmd_webhook)
    p.add_argument("--url", help="public base URL Telegram posts to, e.g. https://bot.example.org (omit on replicas that share one registered webhook)")
    p.add_argument("--path", default="telegram", help="URL path of the webhook (default: telegram)")
    p.add_argument("--listen", default="0.0.0.0", help="address to listen on")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--secret", help="secret token Telegram sends in a header (default: WEBHOOK_SECRET)")

    p = add("demo", "Play a whole consultation offline against a local Bot API server.", cmd_demo, db=False)
    p.add_argument("--out", default="clausebot-demo.docx", help="where to write the consolidated draft")
    p.add_argument("--delegates", type=int, default=12, help="number of simulated delegates (default 12)")
    p.add_argument("--comments", type=int, default=30, help="number of comments they send (default 30)")
    p.add_argument("--database", metavar="URL", help="database for the demo (default: a temporary SQLite file)")
    p.add_argument("--quiet", action="store_true", help="print only the path of the result")

    p = add("db", "Database maintenance.", cmd_db)
    p.add_argument("action", choices=["upgrade"], help="upgrade: apply migrations")

    p = add("import-draft", "Import a Word draft (.docx) as a new consultation.", cmd_import)
    p.add_argument("file", metavar="FILE.docx")
    p.add_argument("--name", help="short name of the consultation (default: from the title)")
    p.add_argument("--replace", metavar="CONSULTATION", help="replace the draft of a consultation not yet opened")

    p = add("invite", "Issue invite links (one, or many from a CSV).", cmd_invite)
    p.add_argument("--role", choices=["delegate", "chair", "secretariat"])
    p.add_argument("--body", help="body code, e.g. SOMHD")
    p.add_argument("--state", help="Member State name or code, e.g. Thailand or TH")
    p.add_argument("--name", help="contact's name")
    p.add_argument("--email", help="contact's e-mail")
    p.add_argument("--days", type=int, help="days the link stays valid")
    p.add_argument("--csv", metavar="FILE", help="CSV with columns name, role, body, state, email")
    p.add_argument("--out", metavar="FILE", help="where to write the CSV with links (default: back into --csv)")

    p = add("registry", "Sectoral bodies and Member States.", cmd_registry)
    rsub = p.add_subparsers(dest="registry_action", required=True, metavar="ACTION")
    rsub.add_parser("list", help="list bodies and Member States")
    rsub.add_parser("seed-asean", help="register the eight ASEAN sectoral bodies and ten Member States")
    b = rsub.add_parser("add-body", help="register a body")
    b.add_argument("code")
    b.add_argument("name", nargs="?", default="")
    s = rsub.add_parser("add-state", help="register a Member State")
    s.add_argument("name")
    s.add_argument("code", help="ISO 3166 code, e.g. TH")
    s.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Asia/Bangkok")

    p = add("consultations", "List consultations.", cmd_consultations)

    p = add("route", "Show or set which bodies receive which sections.", cmd_route)
    p.add_argument("--consultation", metavar="NAME")
    p.add_argument("--section", action="append", help="section reference (repeatable; 'all' for every section)")
    p.add_argument("--body", action="append", help="body code (repeatable)")

    p = add("open", "Open a round and circulate the sections.", cmd_open)
    p.add_argument("--consultation", metavar="NAME")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--deadline", metavar="ISO-DATETIME", help="e.g. 2027-01-22 or 2027-01-22T17:00+07:00")
    g.add_argument("--days", type=int, help="window in days (default 60)")

    p = add("close", "Close a round.", cmd_close)
    p.add_argument("--consultation", metavar="NAME")

    p = add("extend", "Move the deadline of an open round; everyone affected is told.", cmd_extend)
    p.add_argument("--consultation", metavar="NAME")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--days", type=int, help="days added to the current deadline")
    g.add_argument("--deadline", metavar="ISO-DATETIME", help="the new deadline")

    p = add("late", "Accept (on) or refuse (off) comments after the deadline.", cmd_late)
    p.add_argument("setting", choices=["on", "off"])
    p.add_argument("--consultation", metavar="NAME")

    p = add("reminders", "Show or change the reminder plan of a round.", cmd_reminders)
    p.add_argument("--consultation", metavar="NAME")
    p.add_argument("--schedule", help="offsets before the deadline, e.g. 30d,14d,7d,3d,1d,0d (units s, m, h, d)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--everyone", dest="everyone", action="store_true", default=None, help="remind every delegate")
    g.add_argument("--nonresponders", dest="everyone", action="store_false", help="remind only those who have not responded")

    p = add("status", "Who has and has not responded.", cmd_status)
    p.add_argument("--consultation", metavar="NAME")

    p = add("consolidate", "Write the consolidated Word draft (and the draft with proposals, and the matrix).", cmd_consolidate)
    p.add_argument("--out", required=True, metavar="FILE.docx", help="the consolidated draft")
    p.add_argument("--proposals", metavar="FILE.docx", help="the draft with proposals (default: next to --out)")
    p.add_argument("--matrix", metavar="FILE.xlsx", help="the comment matrix (default: next to --out)")
    p.add_argument("--consultation", metavar="NAME")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "telegram", "apscheduler", "alembic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "demo" and not args.verbose:
        # The demo prints its own story; the bot's log would only interleave with it.
        logging.getLogger("bot").setLevel(logging.WARNING)
    try:
        return args.func(args) or 0
    except CommandFailed as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
