"""The `clausebot` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import secrets
import signal
import sys
from contextlib import suppress
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import NoReturn

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import logs, texts
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
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise CommandFailed(_configuration_errors(exc), 2) from None
    logs.protect(settings.token)
    return settings


def _configuration_errors(exc: ValidationError) -> str:
    """One line per setting that cannot be read, named as it is set."""
    lines = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error.get("loc", ())).upper() or "settings"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"Configuration error: {name}: {message}")
    return "\n".join(lines) or f"Configuration error: {exc}"


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
    with suppress(OSError, ValueError):
        print(logs.mask(_plain(message)), file=sys.stderr, flush=True)
    return code


class CommandFailed(Exception):
    """A refusal to report on standard error (exit status 1, or 2 for the configuration);
    nothing was changed."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _call(settings: Settings, work):
    """Run `work(session)` as one unit of work; a refusal rolls it back and fails the command."""
    from bot.services.errors import ServiceError
    from documents.draft import DraftError

    try:
        return asyncio.run(_with_session(settings, work))
    except ServiceError as exc:
        raise CommandFailed(texts.refusal(exc)) from exc
    except DraftError as exc:
        raise CommandFailed(f"{texts.draft_problem(exc)}\nNothing was stored.") from exc


# --- Telegram ------------------------------------------------------------------------------------------

# Waits between attempts to reach Telegram at start: 2, 4, 8 … seconds, then every minute.
FIRST_RETRY_SECONDS = 2
LAST_RETRY_SECONDS = 60


class TelegramProblem(Exception):
    """Telegram cannot be used as configured: the token is refused, or the URL is not a Bot
    API server. Trying again does not help."""


class TelegramUnreachable(Exception):
    """No answer from the Bot API server (or not one that can be used yet): worth another try."""

    def __init__(self, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def token_refused(detail: str = "") -> str:
    said = f" The server said: {detail}." if detail else ""
    return (
        "Telegram refused the token; check TELEGRAM_BOT_TOKEN: it is the token @BotFather gave the bot "
        f"(/mybots, the bot, API Token shows it again).{said}"
    )


def not_a_bot_api(url: str, status: int) -> str:
    return (
        f"{url} does not look like a Bot API server: it answered getMe with {status} {_phrase(status)}. "
        "Check TELEGRAM_API_URL: leave it unset for Telegram (https://api.telegram.org), or give the root "
        "of a local telegram-bot-api server, e.g. http://127.0.0.1:8081."
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def ask_telegram(settings: Settings) -> dict:
    """The bot's own user (getMe), asked once. Raises `TelegramProblem` when the token is
    refused or the URL is not a Bot API server, `TelegramUnreachable` when no usable answer
    came. No message names the token."""
    from telegram.error import NetworkError

    from bot.transport import AiohttpRequest

    request = AiohttpRequest(connection_pool_size=1, connect_timeout=10, read_timeout=10)
    await request.initialize()
    try:
        status, body = await request.do_request(f"{settings.telegram_api_url}/bot{settings.token}/getMe", "POST")
    except NetworkError as error:  # TimedOut too; the transport has masked the token
        raise TelegramUnreachable(str(error.message).removeprefix("aiohttp.")) from None
    finally:
        await request.shutdown()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "ok" not in answer:  # not a Bot API server's answer
        if status in (502, 503, 504):  # a proxy or load balancer before a server that is down
            raise TelegramUnreachable(f"{status} {_phrase(status)}")
        raise TelegramProblem(not_a_bot_api(settings.telegram_api_url, status))
    if answer["ok"] and isinstance(answer.get("result"), dict):
        return answer["result"]
    description = logs.mask(str(answer.get("description") or _phrase(status)))
    if status == 429 or status >= 500:
        parameters = answer.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise TelegramUnreachable(
            f"{status} {description}", float(retry_after) if isinstance(retry_after, int | float) else 0.0
        )
    # 401 for a token Telegram does not know, 404 for one it cannot even read.
    raise TelegramProblem(token_refused(f"{status} {description}"))


def _on_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError, ValueError):  # not in the main thread
            loop.add_signal_handler(signum, stop.set)


async def wait_for_telegram(settings: Settings, stop: asyncio.Event) -> dict | None:
    """getMe until Telegram answers, waiting longer after each failure (one log line each);
    None when stopped meanwhile (SIGTERM). A refused token or a wrong URL is raised at once."""
    delay = FIRST_RETRY_SECONDS
    while not stop.is_set():
        asking = asyncio.ensure_future(ask_telegram(settings))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((asking, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not asking.done():  # stopped while waiting for an answer
            asking.cancel()
            with suppress(asyncio.CancelledError):
                await asking
            return None
        try:
            return asking.result()
        except TelegramUnreachable as unreachable:
            wait = max(delay, unreachable.retry_after)
            log.warning(
                "Telegram unreachable at %s (%s); retrying in %d s", settings.telegram_api_url, unreachable.reason, wait
            )
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
        delay = min(delay * 2, LAST_RETRY_SECONDS)
    return None


def _telegram_or_stop(settings: Settings, pause: float = 0) -> dict | None:
    """`wait_for_telegram` in an event loop of its own, after `pause` seconds; SIGTERM stops it."""

    async def wait() -> dict | None:
        stop = asyncio.Event()
        _on_stop_signals(stop)
        if pause:
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
        return await wait_for_telegram(settings, stop)

    return asyncio.run(wait())


# --- commands ---------------------------------------------------------------------------------------


def cmd_run(args) -> int:
    settings = load_settings(args)
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    from telegram.error import InvalidToken, NetworkError

    from bot.app import build_application
    from bot.db import upgrade

    upgrade(settings.database_url)
    pause = 0
    while True:
        try:
            me = _telegram_or_stop(settings, pause)
        except TelegramProblem as problem:
            return _fail(str(problem), 2)
        if me is None:
            log.info("stopped before Telegram was reached")
            return 0
        application = build_application(settings)
        log.info("starting long polling against %s", settings.telegram_api_url)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            application.run_polling(
                allowed_updates=["message", "callback_query"], drop_pending_updates=False, close_loop=False
            )
            return 0
        except InvalidToken:
            return _fail(token_refused(), 2)
        except NetworkError as error:  # lost again between the check and the start
            pause = min(max(2 * pause, FIRST_RETRY_SECONDS), LAST_RETRY_SECONDS)
            log.warning(
                "Telegram unreachable at %s while starting (%s); retrying in %d s",
                settings.telegram_api_url,
                error.message,
                pause,
            )
        finally:
            # A bot that failed to start is not shut down by python-telegram-bot: close its
            # connections, to Telegram and to the database, before the loop goes.
            loop.run_until_complete(application.bot.shutdown())
            loop.run_until_complete(application.bot_data.db.dispose())
            loop.close()
            asyncio.set_event_loop(None)


class _WebhookSettings(BaseSettings):
    """WEBHOOK_SECRET, from the environment or .env like every other setting."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    webhook_secret: SecretStr | None = None


# What Telegram accepts as a webhook's secret token.
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

SECRET_NEEDED = (
    "WEBHOOK_SECRET is not set. Without --url this process serves a webhook another one registered, and "
    "can only check updates against that one's secret: set WEBHOOK_SECRET (or --secret), the same on every replica."
)
BAD_SECRET = "WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them), as Telegram requires."


def _webhook_secret(args) -> tuple[str | None, bool]:
    """The secret to check updates against, and whether it was made up here."""
    given = args.secret
    if given is None:
        stored = _WebhookSettings().webhook_secret
        given = stored.get_secret_value() if stored else None
    if given is not None and given.strip():
        return given.strip(), False
    if not args.url:
        return None, False
    return secrets.token_urlsafe(32), True


def cmd_webhook(args) -> int:
    settings = load_settings(args)
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    secret, generated = _webhook_secret(args)
    if secret is None:
        return _fail(SECRET_NEEDED, 2)
    if not SECRET_RE.fullmatch(secret):
        return _fail(BAD_SECRET, 2)
    logs.protect(secret)
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.app import build_application
    from bot.db import upgrade
    from bot.webhook import run_webhook

    upgrade(settings.database_url)

    async def serve() -> int:
        stop = asyncio.Event()
        _on_stop_signals(stop)
        if await wait_for_telegram(settings, stop) is None:
            log.info("stopped before Telegram was reached")
            return 0
        if generated:
            log.warning(
                "no WEBHOOK_SECRET set: generated one and registered it with the webhook; it changes at every start "
                "(set WEBHOOK_SECRET to keep one, and to run replicas)"
            )
        await run_webhook(
            build_application(settings),
            listen=args.listen,
            port=args.port,
            path=args.path,
            public_url=args.url,
            secret=secret,
            stop_event=stop,
        )
        return 0

    try:
        return asyncio.run(serve())
    except TelegramProblem as problem:
        return _fail(str(problem), 2)
    except InvalidToken:
        return _fail(token_refused(), 2)
    except NetworkError as error:
        return _fail(
            f"Telegram unreachable at {settings.telegram_api_url} while starting ({error.message}); start it again."
        )
    except TelegramError as error:
        return _fail(f"Telegram refused to set the webhook at {args.url}: {error.message}")
    except OSError as error:
        return _fail(f"Cannot listen on {args.listen}:{args.port}: {error.strerror or error}.")


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
    from documents.versions import Correction

    if (args.match or args.dry_run) and not args.version_of:
        return _fail("--match and --dry-run go with --version-of.", 2)

    async def work(session):
        replace = await rounds.resolve_consultation(session, args.replace) if args.replace else None
        version_of = await rounds.resolve_consultation(session, args.version_of) if args.version_of else None
        corrections = [Correction(new, old) for text in args.match or [] for new, old in rounds.parse_corrections(text)]
        outline = await rounds.import_draft(
            session,
            path.read_bytes(),
            path.name,
            name=args.name,
            replace=replace,
            version_of=version_of,
            corrections=corrections,
            max_bytes=settings.max_upload_bytes,
        )
        if args.dry_run:
            await session.rollback()  # nothing is stored
        return outline

    outline = _call(settings, work)
    if args.dry_run and outline.mapping is not None:
        print(_plain(texts.version_preview(outline, at_command_line=True)))
        print("Nothing was stored (--dry-run).")
    elif outline.mapping is not None:
        print(_plain(texts.upload_stored(outline)))
    else:
        print(_plain(texts.outline(outline, heading="Imported")))
    return 0


def _bot_username(settings: Settings) -> str:
    """For invite links: BOT_USERNAME, else what the bot stored when it last ran, else what
    Telegram says (kept for next time). Nothing is issued when none of them can tell."""
    from bot.services import registry

    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    stored = _call(settings, lambda session: registry.get_meta(session, "bot_username"))
    if stored:
        return stored
    if not settings.token:
        raise CommandFailed(texts.no_bot_username())
    try:
        me = asyncio.run(ask_telegram(settings))
    except TelegramUnreachable as unreachable:
        raise CommandFailed(
            f"Cannot learn the bot's username: Telegram unreachable at {settings.telegram_api_url} ({unreachable.reason}). "
            "Set BOT_USERNAME to the bot's username (without @), or try again when Telegram can be reached; "
            "nothing was issued."
        ) from None
    except TelegramProblem as problem:
        raise CommandFailed(f"{problem} (Or set BOT_USERNAME to the bot's username.) Nothing was issued.", 2) from None
    username = str(me.get("username") or "")
    if not username:
        raise CommandFailed(texts.no_bot_username())
    _call(settings, lambda session: registry.set_meta(session, "bot_username", username))
    return username


NOT_CSV = (
    "{path} is not a CSV text file in UTF-8, UTF-16 or Windows-1252: in the spreadsheet, save it as "
    "“CSV UTF-8 (Comma delimited) (*.csv)”. Nothing was changed."
)


def cmd_invite(args) -> int:
    settings = load_settings(args)
    from bot.services import registry

    ttl_days = args.days if args.days is not None else settings.invite_ttl_days
    if args.csv:
        source = Path(args.csv)
        if not source.is_file():
            return _fail(f"No such file: {source}")
        try:
            decoded = registry.decode_csv(source.read_bytes())
        except OSError as error:
            return _fail(f"Cannot read {source}: {error.strerror or error}.")
        if decoded is None:
            return _fail(NOT_CSV.format(path=source))
        data, encoding = decoded
        delimiter = registry.csv_delimiter(data)
        target = Path(args.out) if args.out else source
        username = _bot_username(settings)

        async def work_csv(session):
            fields, rows, invites = await registry.enrol_csv(session, registry.CONSOLE, data, ttl_days=ttl_days)
            links = [registry.invite_link(username, i.token) for i in invites]
            output = registry.write_csv_with_links(fields, rows, links, delimiter=delimiter)
            try:
                content = output.encode(encoding)
            except UnicodeEncodeError:
                content = output.encode("utf-8-sig")
            # Written before the enrolment is committed: a file that cannot be written enrols nobody.
            tmp = target.with_name(target.name + ".tmp")
            try:
                tmp.write_bytes(content)
                tmp.replace(target)
            except OSError as error:
                with suppress(OSError):
                    tmp.unlink()
                raise CommandFailed(f"Cannot write {target}: {error.strerror or error}. Nobody was enrolled.") from None
            return len(invites)

        count = _call(settings, work_csv)
        print(f"Enrolled {count} contact(s); invite links written to {target}")
        return 0

    if not args.role:
        return _fail("Give --role (delegate, chair, secretariat or focal) or --csv FILE.", 2)
    username = _bot_username(settings)

    async def work(session):
        return await registry.issue_invite(
            session,
            registry.CONSOLE,
            role=args.role,
            body=args.body,
            state=args.state,
            name=args.name or "",
            email=args.email or "",
            ttl_days=ttl_days,
        )

    issued = _call(settings, work)
    label = texts.author_label(issued.body_code, issued.state_name)
    print(f"Invite for {issued.role} ({label}), single use, valid until {texts.when(issued.expires_at, settings.tz)}:")
    print(registry.invite_link(username, issued.token))
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
        lines += ["Member States:"] + [
            f"  {s.code:4} {s.name:20} {s.timezone}" for s in await registry.list_states(session)
        ]
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
            args.deadline,
            days=args.days if args.days is not None else settings.default_round_days,
            tz=settings.tz,
            now=now,
        )
        kind = None
        if args.kind:
            kind = rounds.parse_stage_kind(args.kind)
        plan = rounds.StagePlan(
            kind=kind, bodies=tuple(code for b in args.body or [] for code in b.split(",") if code),
            all_clauses=args.all_clauses, silence=args.silence, despite_unanswered=args.anyway,
        )  # fmt: skip
        return await rounds.open_round(
            session,
            _console(),
            consultation,
            deadline,
            render=_renderer(),
            now=now,
            timing=timing_from(settings),
            plan=plan,
        )

    opened = _call(settings, work)
    print(_plain((texts.opened_endorsement if opened.kind == "endorsement" else texts.opened)(opened, settings.tz)))
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
    from bot.services import endorsements, rounds, timetable

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        timing = timetable.timing_from(settings)
        if consultation.kind == "endorsement":
            await endorsements.close_now(
                session, _console(), consultation, now=datetime.now(UTC), render=_renderer(), timing=timing
            )
            return texts.endorsement_closed_now(consultation.name)
        await rounds.close_round(session, _console(), consultation)
        await rounds.announce_close(session, consultation, timing, render=_renderer(), now=datetime.now(UTC))
        return texts.closed(consultation.name)

    said = _call(settings, work)
    print(_plain(said))
    return 0


def cmd_answers(args) -> int:
    if args.answers_action == "import":
        return _import_answers(args)
    if args.answers_action == "history":
        return _answer_history(args)
    settings = load_settings(args)
    from bot.services import answers, rounds

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        return await answers.publish(session, _console(), consultation, render=_renderer(), now=datetime.now(UTC))

    result = _call(settings, work)
    print(_plain(texts.published(result)))
    if result.messages:
        print("A running bot sends the queued messages within seconds.")
    return 0


def _answer_history(args) -> int:
    """`answers history TH-004`: a comment's answer and every change of it."""
    settings = load_settings(args)
    from bot.services import answers, rounds

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        return await answers.history_of_number(session, _console(), consultation, args.number)

    print(_plain(texts.answer_history(_call(settings, work))))
    return 0


def _import_answers(args) -> int:
    """`answers import FILE.xlsx`: the preview; with --apply, the answers stored (all or nothing)."""
    settings = load_settings(args)
    path = Path(args.file)
    if not path.is_file():
        return _fail(f"No such file: {path}")
    if path.suffix.lower() in (".xlsm", ".xltm", ".xlsb"):
        return _fail(f"{path.name}: workbooks with macros are not read. Save it as an ordinary Excel workbook (.xlsx).")
    try:
        size = path.stat().st_size
        if size > settings.max_upload_bytes:
            return _fail(_plain(texts.upload_too_large(size, settings.max_upload_bytes)))
        data = path.read_bytes()
    except OSError as error:
        return _fail(f"Cannot read {path}: {error.strerror or error}.")
    from bot.services import answer_import

    async def work(session):
        if args.apply:
            return await answer_import.apply(
                session, _console(), data, consultation=args.consultation, now=datetime.now(UTC)
            )
        return await answer_import.preview(session, _console(), data, consultation=args.consultation)

    result = _call(settings, work)
    print(_plain(texts.import_preview(result)))
    if result.refused:
        return 1
    if not args.apply and result.changes:
        print("Nothing is stored yet: run the same command with --apply to store these answers.")
    return 0


def cmd_extend(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds, timetable

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        now = datetime.now(UTC)
        deadline = rounds.extended_deadline(consultation, days=args.days, value=args.deadline, tz=settings.tz, now=now)
        told = await rounds.change_deadline(
            session, _console(), consultation, deadline, timetable.timing_from(settings), render=_renderer(), now=now
        )
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


def cmd_clearance(args) -> int:
    settings = load_settings(args)
    from bot.services import clearance, rounds

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        if args.setting is None:
            return texts.clearance_shown(consultation.title, clearance.mode_of(consultation))
        return texts.clearance_changed(await clearance.set_mode(session, _console(), consultation, args.setting))

    print(_plain(_call(settings, work)))
    return 0


def cmd_reminders(args) -> int:
    settings = load_settings(args)
    from bot.services import rounds, timetable

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        timing = timetable.timing_from(settings)
        if args.schedule is not None or args.everyone is not None:
            await timetable.set_schedule(
                session,
                _console(),
                consultation,
                timing,
                schedule=args.schedule,
                everyone=args.everyone,
                now=datetime.now(UTC),
            )
        jobs = await timetable.plan_of(session, consultation)
        return texts.reminder_plan(
            consultation.title,
            timetable.schedule_of(consultation, timing),
            consultation.remind_everyone,
            jobs,
            settings.tz,
        )

    text = _call(settings, work)
    print(_plain(text))
    return 0


def cmd_status(args) -> int:
    settings = load_settings(args)
    from bot.services import outbox, rounds, status
    from bot.services.errors import Reason, ServiceError

    async def work(session):
        sending = await outbox.sending(session)
        try:
            consultation = await rounds.resolve_consultation(session, args.consultation)
        except ServiceError as exc:
            if exc.reason is Reason.NO_CONSULTATIONS and not args.consultation:
                return None, sending
            raise
        return await status.status_report(session, consultation), sending

    report, sending = _call(settings, work)
    if report is None:
        print(_plain(texts.no_consultations(True)))
    else:
        print(_plain(texts.status_report(report, settings.tz, datetime.now(UTC))))
    print()
    print(_plain(texts.sending_status(sending)))
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
        return await consolidation.gather(session, _console(), consultation, timezone=settings.timezone)

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


def _size(count: int) -> str:
    """A file's size as people read it: 812 bytes, 84.2 KB, 3.1 MB."""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def cmd_export(args) -> int:
    settings = load_settings(args)
    from bot.services import export, rounds

    out = Path(args.out)

    async def work(session):
        consultation = await rounds.resolve_consultation(session, args.consultation)
        exported = await export.export_consultation(
            session, _console(), consultation, now=datetime.now(UTC), timezone=settings.timezone
        )
        # Written before the unit of work is committed: a file that cannot be written changes nothing.
        tmp = out.with_name(out.name + ".tmp")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(exported.data)
            tmp.replace(out)
        except OSError as error:
            with suppress(OSError):
                tmp.unlink()
            raise CommandFailed(f"Cannot write {out}: {error.strerror or error}. Nothing was exported.") from None
        return consultation.name, exported

    name, exported = _call(settings, work)
    print(f"Exported {name}: {len(exported.manifest)} file(s), {_size(len(exported.data))}.")
    print(out.resolve())
    return 0


def cmd_demo(args) -> int:
    from bot.demo import run_demo

    return asyncio.run(
        run_demo(
            out=Path(args.out),
            delegates=args.delegates,
            comments=args.comments,
            database=args.database,
            quiet=args.quiet,
        )
    )


# --- parser ------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Says what is wrong with the command in one line, and where the options are listed."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# How long an invite link issued from the command line may stay valid.
INVITE_DAYS = (1, 365)


def _days_between(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"“{text}” is not a whole number of days") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"“{text}” is not a number of days from {low} to {high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clausebot",
        description="Run a written consultation on a draft document in Telegram, clause by clause.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, func, *, db: bool = True):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if db:
            p.add_argument(
                "--database", metavar="URL", help="database URL (default: DATABASE_URL or sqlite:///clausebot.db)"
            )
        p.set_defaults(func=func)
        return p

    add("run", "Run the bot with long polling (needs TELEGRAM_BOT_TOKEN).", cmd_run)
    p = add("webhook", "Serve Telegram's webhook (behind a reverse proxy).", cmd_webhook)
    p.add_argument(
        "--url",
        help="public base URL Telegram posts to, e.g. https://bot.example.org (omit on replicas that share one registered webhook)",
    )
    p.add_argument("--path", default="telegram", help="URL path of the webhook (default: telegram)")
    p.add_argument("--listen", default="0.0.0.0", help="address to listen on")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument(
        "--secret",
        help="secret token Telegram sends in a header (default: WEBHOOK_SECRET; with --url and neither, one is "
        "generated at each start; without --url it is required)",
    )

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
    g = p.add_mutually_exclusive_group()
    g.add_argument("--replace", metavar="CONSULTATION", help="replace the draft of a consultation not yet opened")
    g.add_argument(
        "--version-of",
        metavar="CONSULTATION",
        help="store the revised draft as the next version (v1, v2, ...) of a consultation whose stage is closed",
    )
    p.add_argument(
        "--match",
        action="append",
        metavar="CORRECTION",
        help="with --version-of: correct how a clause maps to the last version's: '4.2 = 4.1' (new 4.2 comes "
        "from old 4.1), '4.3 new', '2.2 deleted' (repeatable; see the doubtful matches with --dry-run)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="with --version-of: show how the clauses map, the doubtful matches first, and store nothing",
    )

    p = add("invite", "Issue invite links (one, or many from a CSV).", cmd_invite)
    p.add_argument("--role", choices=["delegate", "chair", "secretariat", "focal"])
    p.add_argument("--body", help="body code, e.g. SOMHD")
    p.add_argument("--state", help="Member State name or code, e.g. Thailand or TH")
    p.add_argument("--name", help="contact's name")
    p.add_argument("--email", help="contact's e-mail")
    p.add_argument(
        "--days",
        type=_days_between(*INVITE_DAYS),
        metavar="N",
        help=f"days the link stays valid, {INVITE_DAYS[0]} to {INVITE_DAYS[1]} (default: INVITE_TTL_DAYS, 30)",
    )
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

    p = add("open", "Open a round, or the next stage, and circulate the sections.", cmd_open)
    p.add_argument("--consultation", metavar="NAME")
    p.add_argument(
        "--kind",
        choices=["comments", "final", "review", "endorsement"],
        help="the stage to open once the last is closed: final comments on a new version, a review by --body, "
        "or endorsement by every body (or by --body)",
    )
    p.add_argument(
        "--silence",
        action="store_true",
        help="endorsement as a silence procedure: no objection by the deadline is recorded as endorsement",
    )
    p.add_argument(
        "--anyway",
        action="store_true",
        help="open endorsement although comments have no answer yet (without it, that is refused with a warning)",
    )
    p.add_argument("--body", action="append", help="body code a review goes to (repeatable)")
    p.add_argument("--all-clauses", action="store_true", help="final comments on every clause, not only those changed")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--deadline", metavar="ISO-DATETIME", help="e.g. 2027-01-22 or 2027-01-22T17:00+07:00")
    g.add_argument("--days", type=int, help="window in days (default 60)")

    p = add("answers", "The Secretariat's answers to the comments.", cmd_answers)
    asub = p.add_subparsers(dest="answers_action", required=True, metavar="ACTION")
    a = asub.add_parser("publish", help="tell each delegate what became of their comments (once; changes go again)")
    a.add_argument("--consultation", metavar="NAME")
    a = asub.add_parser("import", help="read answers from the .xlsx comment matrix filled in; a preview unless --apply")
    a.add_argument("file", metavar="FILE.xlsx")
    a.add_argument("--consultation", metavar="NAME", help="the consultation (default: the one the file names)")
    a.add_argument("--apply", action="store_true", help="store the answers (nothing is stored if any row is refused)")
    a = asub.add_parser("history", help="a comment's answer and every change of it, by its matrix number")
    a.add_argument("number", metavar="NUMBER", help="e.g. TH-004")
    a.add_argument("--consultation", metavar="NAME")

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

    p = add(
        "clearance",
        "Show or set the clearance of comments by the national focal points: off, advisory (shown) "
        "or required (a comment reaches the Secretariat once cleared).",
        cmd_clearance,
    )
    p.add_argument("setting", nargs="?", choices=["off", "advisory", "required"])
    p.add_argument("--consultation", metavar="NAME")

    p = add("reminders", "Show or change the reminder plan of a round.", cmd_reminders)
    p.add_argument("--consultation", metavar="NAME")
    p.add_argument("--schedule", help="offsets before the deadline, e.g. 30d,14d,7d,3d,1d,0d (units s, m, h, d)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--everyone", dest="everyone", action="store_true", default=None, help="remind every delegate")
    g.add_argument(
        "--nonresponders", dest="everyone", action="store_false", help="remind only those who have not responded"
    )

    p = add("status", "Who has and has not responded.", cmd_status)
    p.add_argument("--consultation", metavar="NAME")

    p = add(
        "consolidate",
        "Write the consolidated Word draft (and the draft with proposals, and the matrix).",
        cmd_consolidate,
    )
    p.add_argument("--out", required=True, metavar="FILE.docx", help="the consolidated draft")
    p.add_argument("--proposals", metavar="FILE.docx", help="the draft with proposals (default: next to --out)")
    p.add_argument("--matrix", metavar="FILE.xlsx", help="the comment matrix (default: next to --out)")
    p.add_argument("--consultation", metavar="NAME")

    p = add(
        "export",
        "Write the whole record of a consultation as one zip: every version, the comparisons of consecutive "
        "versions, the consolidation, and every comment with its answer (record.json).",
        cmd_export,
    )
    p.add_argument("consultation", nargs="?", metavar="NAME", help="the consultation (default: the only one there is)")
    p.add_argument("--out", required=True, metavar="FILE.zip", help="where to write the zip")
    return parser


def _setup_logging(verbose: bool, command: str) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logs.install()
    for noisy in ("httpx", "telegram", "apscheduler", "alembic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if command == "demo" and not verbose:
        # The demo prints its own story; the bot's log would only interleave with it.
        logging.getLogger("bot").setLevel(logging.WARNING)


def _output_closed() -> int:
    """The reader of standard output went away (`clausebot status | head`): stop quietly.
    Standard output is pointed at /dev/null so that the interpreter's own flush at exit does
    not complain either."""
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


def _unexpected(command: str, error: Exception) -> int:
    import socket

    from sqlalchemy.exc import SQLAlchemyError

    detail = logs.mask(str(error).strip().splitlines()[0] if str(error).strip() else "")
    what = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    if isinstance(error, SQLAlchemyError | ConnectionRefusedError | socket.gaierror) or type(
        error
    ).__module__.startswith("asyncpg"):
        return _fail(f"The database could not be used ({what}). Check DATABASE_URL and that the database is running.")
    return _fail(f"clausebot {command} failed: {what}. Run it again with -v for the details.")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.command)
    try:
        code = args.func(args) or 0
        sys.stdout.flush()  # here, where a closed pipe can still be told apart
        return code
    except CommandFailed as exc:
        return _fail(str(exc), exc.code)
    except BrokenPipeError:
        return _output_closed()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an administrator at the command line gets a line, not a traceback
        log.debug("clausebot %s failed", args.command, exc_info=True)
        return _unexpected(args.command, exc)


if __name__ == "__main__":
    sys.exit(main())
