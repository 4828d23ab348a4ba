"""Circulate the sample draft to N contacts through a local Bot API server that enforces
Telegram's limits (30 messages a second overall, one a second per chat, 429 beyond).

    python bench/circulate.py [--contacts 500] [--database URL] [--kill-at 0.4]

With --kill-at F the bot runs as its own process (`clausebot run`), is killed with SIGKILL
once that fraction of the messages has gone out, and is started again; messages the dead
process had claimed go back in the queue once its heartbeat is INSTANCE_TIMEOUT_SECONDS (5
here) old. The time then includes the restart.

Last line: messages=M seconds=S rate=R limit=30 lost=L duplicates=D
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bot.app import build_application
from bot.config import Settings
from bot.db import Database, upgrade_async
from bot.models import Outbox
from bot.rendering import RENDERER
from bot.runner import polling
from bot.services import outbox, registry, rounds
from bot.services.registry import CONSOLE
from documents.sample import sample_draft
from localapi import LocalBotApi

LIMIT = 30


async def run_killed(
    server: LocalBotApi, database: str, queued: int, kill_at: float, log_path: Path
) -> tuple[int, asyncio.subprocess.Process]:
    """The bot as its own process, killed with SIGKILL part-way and started again: how many
    messages had gone out at the kill, and the new process."""
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:BENCH",
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": database,
        "QUIET_HOURS": "",
        "OUTBOX_POLL_SECONDS": "0.2",
        "INSTANCE_TIMEOUT_SECONDS": "5",
    }

    async def start() -> asyncio.subprocess.Process:
        with log_path.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", env=environment, stdout=log, stderr=log
            )

    process = await start()
    while len(server.calls_of("sendMessage")) < queued * kill_at:
        if process.returncode is not None:
            raise RuntimeError(f"the bot stopped on its own: see {log_path}")
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    killed_after = server.stats["sent"]
    return killed_after, await start()


async def main(contacts: int, database: str | None, kill_at: float | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="clausebot-bench-") as tmp:
        database = database or f"sqlite:///{tmp}/bench.db"
        await upgrade_async(database)
        async with LocalBotApi(rate_limit=True, overall_per_second=LIMIT, per_chat_per_second=1.0) as server:
            settings = Settings(
                telegram_bot_token="123456:BENCH",
                telegram_api_url=server.url,
                database_url=database,
                outbox_poll_seconds=0.2,
                quiet_hours="",
                _env_file=None,
            )
            db = Database(database)
            users = []
            async with db.session() as session:
                await registry.seed_asean(session)
                bodies = [b.code for b in await registry.list_bodies(session)]
                states = [s.name for s in await registry.list_states(session)]
                for n in range(contacts):
                    user = server.user(10_000 + n, f"Delegate {n}")
                    user.started = True  # as if they had opened the chat
                    issued = await registry.issue_invite(
                        session,
                        CONSOLE,
                        role="delegate",
                        body=bodies[n % len(bodies)],
                        state=states[(n // len(bodies)) % len(states)],
                    )
                    await registry.join(
                        session,
                        issued.token,
                        telegram_user_id=user.id,
                        chat_id=user.id,
                        username=None,
                        full_name=user.first_name,
                    )
                    users.append(user)
                outline = await rounds.import_draft(session, sample_draft(), "sample.docx")
                consultation = await rounds.resolve_consultation(session, outline.consultation)
            if kill_at is None:
                application = build_application(settings, db=db)
                async with polling(application, poll_timeout=2):
                    started = time.monotonic()
                    async with db.session() as session:
                        now = datetime.now(UTC)
                        opened = await rounds.open_round(
                            session, CONSOLE, consultation, now + timedelta(days=60), render=RENDERER, now=now
                        )
                    application.bot_data.sender.wake()
                    await queue_emptied(db)
                    seconds = time.monotonic() - started
            else:
                started = time.monotonic()
                async with db.session() as session:
                    now = datetime.now(UTC)
                    opened = await rounds.open_round(
                        session, CONSOLE, consultation, now + timedelta(days=60), render=RENDERER, now=now
                    )
                killed_after, process = await run_killed(
                    server, database, opened.messages_queued, kill_at, Path(tmp) / "bot.log"
                )
                try:
                    await queue_emptied(db)
                    seconds = time.monotonic() - started
                finally:
                    process.send_signal(signal.SIGTERM)
                    await process.wait()
                print(f"killed with SIGKILL after {killed_after} messages, then started again", file=sys.stderr)
            async with db.session() as session:
                statuses = Counter(s for s in await session.scalars(select(Outbox.status)))
            await db.dispose()
            delivered = Counter()
            duplicates = 0
            for user in users:
                seen = Counter(m.html or m.content for m in user.messages())
                duplicates += sum(count - 1 for count in seen.values())
                delivered[user.id] = len(seen)
            messages = sum(len(u.messages()) for u in users)
            lost = opened.messages_queued - (messages - duplicates)
            rejected = (
                server.stats.get("rejected_429", 0)
                if isinstance(server.stats, dict)
                else getattr(server.stats, "rejected_429", 0)
            )
            print(
                f"contacts={contacts} queued={opened.messages_queued} statuses={dict(statuses)} 429s={rejected}",
                file=sys.stderr,
            )
            return (
                f"messages={messages} seconds={seconds:.1f} rate={messages / seconds:.1f} limit={LIMIT} "
                f"lost={lost} duplicates={duplicates}"
            )


async def queue_emptied(db: Database) -> None:
    while True:
        async with db.session() as session:
            if not await outbox.pending_count(session):
                return
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--kill-at", type=float, help="SIGKILL the bot once this fraction is sent, then restart it")
    args = parser.parse_args()
    print(asyncio.run(main(args.contacts, args.database, args.kill_at)))
