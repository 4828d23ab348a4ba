"""Circulate the sample draft to N contacts through a local Bot API server that enforces
Telegram's limits (30 messages a second overall, one a second per chat, 429 beyond).

    python bench/circulate.py [--contacts 500] [--database URL]

Last line: messages=M seconds=S rate=R limit=30 lost=L duplicates=D
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db import Database, upgrade_async  # noqa: E402
from bot.models import Outbox  # noqa: E402
from bot.runner import polling  # noqa: E402
from bot.services import outbox, registry, rounds  # noqa: E402
from documents.sample import sample_draft  # noqa: E402
from localapi import LocalBotApi  # noqa: E402

LIMIT = 30


async def main(contacts: int, database: str | None) -> str:
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
                        session, role="delegate", body=bodies[n % len(bodies)], state=states[(n // len(bodies)) % len(states)]
                    )
                    await registry.join(
                        session, issued.token, telegram_user_id=user.id, chat_id=user.id, username=None, full_name=user.first_name
                    )
                    users.append(user)
                outline = await rounds.import_draft(session, sample_draft(), "sample.docx")
                consultation = await rounds.resolve_consultation(session, outline.consultation)
            application = build_application(settings, db=db)
            async with polling(application, poll_timeout=2):
                started = time.monotonic()
                async with db.session() as session:
                    now = datetime.now(UTC)
                    opened = await rounds.open_round(session, consultation, now + timedelta(days=60), now=now)
                application.bot_data.sender.wake()
                while True:
                    async with db.session() as session:
                        if not await outbox.pending_count(session):
                            break
                    await asyncio.sleep(0.2)
                seconds = time.monotonic() - started
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
            rejected = server.stats.get("rejected_429", 0) if isinstance(server.stats, dict) else getattr(server.stats, "rejected_429", 0)
            print(f"contacts={contacts} queued={opened.messages_queued} statuses={dict(statuses)} 429s={rejected}", file=sys.stderr)
            return (
                f"messages={messages} seconds={seconds:.1f} rate={messages / seconds:.1f} limit={LIMIT} "
                f"lost={lost} duplicates={duplicates}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    print(asyncio.run(main(args.contacts, args.database)))
