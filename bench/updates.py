"""Comments through the whole stack (local Bot API server → real Application → database →
reply), side by side in the same run with a bare python-telegram-bot echo bot that has the
same conversation shape (a message and three button presses, each answered).

    python bench/updates.py [--delegates 40] [--rounds 3] [--repeats 5] [--database URL]

The bots run side by side and are measured in turns; each figure is the median. The figures
are for information: they show what a Clausebot update costs beside the least a bot can do,
and no ratio between them is something to reach.

The echo bot of the last line is python-telegram-bot as it comes (its HTTP over httpx).
Clausebot talks HTTP over aiohttp (bot/transport.py), so the line before it also gives the
echo bot on that same transport, and that echo bot recording each update in the database
(one session and commit per update, the least a bot does that loses nothing):
    same_transport_echo_per_s=F ratio_to_same_transport_echo=C/F durable_echo_per_s=D ratio_to_durable_echo=C/D

Last line: comments_per_s=C echo_per_s=E ratio=C/E
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import BigInteger, Column, MetaData, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.app import build_application
from bot.budget import ChatPace, SendBudget
from bot.config import Settings
from bot.db import Database, upgrade_async
from bot.models import UTCDateTime
from bot.rendering import RENDERER
from bot.runner import polling
from bot.services import outbox, registry, rounds
from bot.services.registry import CONSOLE
from bot.transport import AiohttpRequest
from documents.sample import sample_draft
from localapi import LocalBotApi

CONCURRENCY = 8


async def comment_once(user, ref: str, n: int) -> None:
    await user.send(f"/comment {ref} Point {n}: the wording should name informal workers.")
    await user.press(await user.wait_for("What type", timeout=30), "Technical")
    await user.press(await user.wait_for("propose new wording", timeout=30), "Skip")
    await user.press(await user.wait_for("Please check", timeout=30), "Send")
    await user.wait_for("is recorded", timeout=30)


async def echo_once(user, n: int) -> None:
    await user.send(f"Point {n}: the wording should name informal workers.")
    for _step in range(3):
        reply = await user.wait_for(lambda m: m.reply_markup is not None, timeout=30)
        await user.press(reply, "next")
    await user.wait_for("done", timeout=30)


# The durable echo bot records update ids in a table of its own (its ids are not the bot's).
_ECHO_UPDATES = Table(
    "bench_echo_updates",
    MetaData(),
    Column("update_id", BigInteger, primary_key=True),
    Column("processed_at", UTCDateTime, nullable=False),
)


async def echo_bot(server: LocalBotApi, db: Database | None = None, *, token: str, aiohttp: bool = False):
    """The bare echo bot; with a database, one that also records each update there (its own
    session and commit, as any bot must that loses nothing): the floor of durable handling.
    With `aiohttp`, it talks HTTP as Clausebot does."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("next", callback_data="next")]])
    if db is not None:
        async with db.engine.begin() as connection:
            await connection.run_sync(_ECHO_UPDATES.create, checkfirst=True)
        insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        record_update = insert(_ECHO_UPDATES).on_conflict_do_nothing(index_elements=["update_id"])

    async def record(update: Update) -> None:
        if db is not None:
            async with db.session() as session:
                await session.execute(record_update, {"update_id": update.update_id, "processed_at": datetime.now(UTC)})

    async def on_text(update: Update, _context) -> None:
        await record(update)
        await update.effective_chat.send_message(f"echo: {update.effective_message.text}", reply_markup=keyboard)

    async def on_press(update: Update, context) -> None:
        await record(update)
        await update.callback_query.answer()
        count = context.user_data["presses"] = context.user_data.get("presses", 0) + 1
        if count % 3:
            await update.effective_chat.send_message(f"echo: press {count}", reply_markup=keyboard)
        else:
            await update.effective_chat.send_message("done")

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
        .concurrent_updates(CONCURRENCY)
    )
    if aiohttp:
        builder = builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1, read_timeout=10)
        )
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, on_text))
    application.add_handler(CallbackQueryHandler(on_press))
    return application


async def circulation_done(db: Database, timeout: float = 120) -> None:
    """Wait until every circulated message is out, so only the comments are measured."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with db.session() as session:
            if not await outbox.pending_count(session):
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("circulation did not finish")


async def measure(users, work, rounds_: int) -> float:
    started = time.monotonic()

    async def person(index, user):
        for r in range(rounds_):
            await work(user, index * rounds_ + r)

    await asyncio.gather(*(person(i, u) for i, u in enumerate(users)))
    return time.monotonic() - started


async def main(delegates: int, rounds_: int, repeats: int, database: str | None) -> str:
    with tempfile.TemporaryDirectory(prefix="clausebot-bench-") as tmp:
        database = database or f"sqlite:///{tmp}/bench.db"
        await upgrade_async(database)
        db = Database(database)
        async with (
            LocalBotApi() as echo_server,
            LocalBotApi() as same_server,
            LocalBotApi() as durable_server,
            LocalBotApi() as server,
        ):
            echo_users = [echo_server.user(50_000 + n, f"Echo {n}") for n in range(delegates)]
            same_users = [same_server.user(70_000 + n, f"Same {n}") for n in range(delegates)]
            durable_users = [durable_server.user(60_000 + n, f"Durable {n}") for n in range(delegates)]
            users = [server.user(10_000 + n, f"Delegate {n}") for n in range(delegates)]
            await enrol(db, users)
            settings = Settings(
                telegram_bot_token="123456:BENCH",
                telegram_api_url=server.url,
                database_url=database,
                quiet_hours="",
                _env_file=None,
            )
            echo = await echo_bot(echo_server, token="654321:ECHO")
            same = await echo_bot(same_server, token="654323:SAME", aiohttp=True)
            durable = await echo_bot(durable_server, db, token="654322:DURABLE", aiohttp=True)
            # What is measured is handling, not Telegram's pace: these servers have no flood
            # limits (nor do the echo bots), so the send budget is set out of the way.
            unlimited = SendBudget(1_000_000, chats=ChatPace(burst=1_000_000, per_second=1_000_000, bulk_interval=0))
            ours = build_application(settings, db=Database(database), budget=unlimited)
            refs = ["1.1", "2.1", "3.2", "4.1", "5.2", "6.1"]

            async def comment(user, n):
                await comment_once(user, refs[n % len(refs)], n)

            async with (
                polling(echo, poll_timeout=2),
                polling(same, poll_timeout=2),
                polling(durable, poll_timeout=2),
                polling(ours, poll_timeout=2),
            ):
                await circulation_done(db)
                await asyncio.gather(*(u.drain(quiet=0.2, timeout=60) for u in users))
                runs = {
                    "echo": (echo_users, echo_once),
                    "same": (same_users, echo_once),
                    "durable": (durable_users, echo_once),
                    "ours": (users, comment),
                }
                for people, work in runs.values():  # warm up
                    await measure(people[:2], work, 1)
                # In turns, so that whatever else the machine does weighs on all of them alike.
                seconds: dict[str, list[float]] = {name: [] for name in runs}
                for _ in range(repeats):
                    for name, (people, work) in runs.items():
                        seconds[name].append(await measure(people, work, rounds_))
        await db.dispose()

    total = delegates * rounds_
    echo_per_s, same_per_s, durable_per_s, comments_per_s = (
        total / statistics.median(seconds[n]) for n in ("echo", "same", "durable", "ours")
    )
    print(
        f"delegates={delegates} rounds={rounds_} repeats={repeats} database={database.split(':')[0]} "
        f"seconds={ {name: [round(x, 2) for x in values] for name, values in seconds.items()} }",
        file=sys.stderr,
    )
    # The echo bot on Clausebot's HTTP transport, bare and recording each update in the database.
    print(
        f"same_transport_echo_per_s={same_per_s:.1f} ratio_to_same_transport_echo={comments_per_s / same_per_s:.2f} "
        f"durable_echo_per_s={durable_per_s:.1f} ratio_to_durable_echo={comments_per_s / durable_per_s:.2f}"
    )
    return f"comments_per_s={comments_per_s:.1f} echo_per_s={echo_per_s:.1f} ratio={comments_per_s / echo_per_s:.2f}"


async def enrol(db: Database, users) -> None:
    """Delegates of every body and Member State, and an open round of the sample draft."""
    async with db.session() as session:
        await registry.seed_asean(session)
        bodies = [b.code for b in await registry.list_bodies(session)]
        states = [s.name for s in await registry.list_states(session)]
        for n, user in enumerate(users):
            user.started = True
            issued = await registry.issue_invite(
                session, CONSOLE, role="delegate", body=bodies[n % len(bodies)], state=states[n % len(states)]
            )
            await registry.join(
                session, issued.token, telegram_user_id=user.id, chat_id=user.id, username=None, full_name="D"
            )
        outline = await rounds.import_draft(session, sample_draft(), "sample.docx")
        consultation = await rounds.resolve_consultation(session, outline.consultation)
        now = datetime.now(UTC)
        await rounds.open_round(session, CONSOLE, consultation, now + timedelta(days=60), render=RENDERER, now=now)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delegates", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="conversations per delegate in one measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements of each bot, taken in turns (median)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    print(asyncio.run(main(args.delegates, args.rounds, args.repeats, args.database)))
