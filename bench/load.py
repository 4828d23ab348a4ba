"""Replies to people while a round circulates, under Telegram's limits.

    python bench/load.py [--contacts 300] [--delegates 20] [--database-url URL] [--replicas N]

A local Bot API server answers 429 beyond 30 messages a second overall and one a second
per chat (after a short burst), as Telegram does. The bot runs as its own process(es)
in webhook mode, behind a small load balancer that sends each person's updates to the same
replica (``--replicas 2`` needs PostgreSQL: the replicas share the database). A round of the
sample draft is opened to ``--contacts`` delegates; meanwhile ``--delegates`` more run
comment flows at human speed until the circulation is over: typing a comment for a few
seconds (``/comment 2.1 …``), then a tap about every second (the type, Skip, Send).

A reply's time is from the person's action to the bot's answer in their chat (a new
message or an edit), as they see it. ``circulation_rate`` is the queued messages of the
round per second, from the opening to the last one delivered; ``total_rate`` counts every
message of the bot in that time, replies included (Telegram's limit counts both, so the
two rates together stay under 30). ``r429`` is how many requests the server refused.

With --database-url the tables of that database are emptied first.

Last line:
    reply_p95_ms=A reply_max_ms=B circulation_rate=R r429=Q replicas=N
    reply_median_ms=… replies=… reply_rate=… total_rate=… database=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession, ClientTimeout, web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.db import Database, upgrade_async  # noqa: E402
from bot.models import Base, Body, Clause, Outbox, OutboxStatus, Route  # noqa: E402
from bot.rendering import RENDERER  # noqa: E402
from bot.services import outbox, registry, rounds  # noqa: E402
from bot.services.registry import CONSOLE  # noqa: E402
from documents.sample import sample_bodies, sample_draft, sample_states  # noqa: E402
from localapi import LocalBotApi  # noqa: E402

TOKEN = "123456:LOAD"
SECRET = "load-bench-secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REPLIES = ("What type of comment", "propose new wording", "Please check your comment", "is recorded")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _prepare(url: str, server: LocalBotApi, contacts: int, delegates: int):
    await upgrade_async(url)
    db = Database(url)
    async with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "alembic_version":
                await connection.execute(table.delete())
    receivers, commenters = [], []
    async with db.session() as session:
        for code, name in sample_bodies():
            await registry.add_body(session, code, name)
        for name, code, zone in sample_states():
            await registry.add_state(session, name, code, zone)
        bodies = [b.code for b in await registry.list_bodies(session)]
        states = [s.name for s in await registry.list_states(session)]
        for n in range(contacts + delegates):
            user = server.user(20_000 + n, f"Delegate {n}")
            user.started = True  # they have opened the chat
            body = bodies[n % len(bodies)]
            issued = await registry.issue_invite(
                session, CONSOLE, role="delegate", body=body, state=states[(n // len(bodies)) % len(states)]
            )
            await registry.join(
                session,
                issued.token,
                telegram_user_id=user.id,
                chat_id=user.id,
                username=None,
                full_name=user.first_name,
            )
            (receivers if n < contacts else commenters).append((user, body))
        outline = await rounds.import_draft(session, sample_draft(), "sample.docx")
        consultation = await rounds.resolve_consultation(session, outline.consultation)
        # The clauses each body is consulted on (no routes: every body on every clause).
        everything = list(await session.scalars(select(Clause.ref).where(Clause.consultation_id == consultation.id)))
        routed: dict[str, list[str]] = {}
        rows = await session.execute(
            select(Body.code, Clause.ref)
            .join(Route, Route.body_id == Body.id)
            .join(Clause, Clause.section_id == Route.section_id)
            .where(Route.consultation_id == consultation.id)
        )
        for body, ref in rows:
            routed.setdefault(body, []).append(ref)
    return db, consultation, receivers, [(user, routed.get(body, everything)) for user, body in commenters]


class Balancer:
    """The load balancer in front of the replicas: each person's updates to one replica."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.port = _free_port()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        data = await request.json()
        sender = (data.get("message") or data.get("callback_query") or {}).get("from", {}).get("id", 0)
        backend = self.backends[int(sender) % len(self.backends)]
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if SECRET_HEADER in request.headers:
            headers[SECRET_HEADER] = request.headers[SECRET_HEADER]
        async with self._client.post(backend, data=body, headers=headers) as answer:
            return web.Response(status=answer.status, body=await answer.read(), content_type="application/json")

    async def start(self) -> str:
        self._client = ClientSession(timeout=ClientTimeout(total=10))
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()


async def _replica(server: LocalBotApi, url: str, port: int, public: str | None, log_path: Path):
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": url,
        "WEBHOOK_SECRET": SECRET,
        "QUIET_HOURS": "",
        "OUTBOX_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "bot.cli", "webhook", "--listen", "127.0.0.1", "--port", str(port)]
    if public:
        command += ["--url", public]
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(*command, env=environment, stdout=log, stderr=log)
    async with ClientSession(timeout=ClientTimeout(total=2)) as client:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError(f"a replica stopped on its own: see {log_path}")
            try:
                async with client.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return process
            except OSError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"a replica did not start: see {log_path}")


async def _comment_flows(user, refs: list[str], stop: asyncio.Event, latencies: list[float], seed: int) -> None:
    """One delegate commenting at human speed until told to stop (the current flow ends)."""
    chance = random.Random(seed)

    async def acted(expected: str):
        started = time.monotonic()
        answer = await user.wait_for(expected, timeout=30)
        latencies.append(time.monotonic() - started)
        return answer

    await asyncio.sleep(chance.uniform(0, 3))
    while not stop.is_set() and refs:
        await asyncio.sleep(chance.uniform(2, 5))  # typing the comment
        await user.send(f"/comment {chance.choice(refs)} Please name informal and platform workers here.")
        prompt = await acted(REPLIES[0])
        for button, expected in (("Technical", REPLIES[1]), ("Skip", REPLIES[2]), ("Send", REPLIES[3])):
            await asyncio.sleep(chance.uniform(0.8, 1.5))  # a tap about every second
            await user.press(prompt, button)
            prompt = await acted(expected)


COUNTED = (
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
)


def _explain_429s(server: LocalBotApi) -> None:
    """For each answer of 429: the messages accepted in the second before it, overall and in its chat."""
    accepted = [c for c in server.calls if c.method in COUNTED and c.status == 200]
    for call in server.calls:
        if call.status != 429:
            continue
        overall = sum(1 for c in accepted if call.at - 1 < c.at <= call.at)
        chat = call.params.get("chat_id")
        in_chat = sum(
            1 for c in accepted if call.at - 10 < c.at <= call.at and str(c.params.get("chat_id")) == str(chat)
        )
        print(
            f"429 to {call.method} for chat {chat}: {overall} messages accepted in the second before, "
            f"{in_chat} in that chat in the ten seconds before",
            file=sys.stderr,
        )


async def run(contacts: int, delegates: int, url: str | None, replicas: int) -> str:
    with tempfile.TemporaryDirectory(prefix="clausebot-load-") as tmp:
        url = url or f"sqlite:///{tmp}/load.db"
        if replicas > 1 and not url.startswith("postgresql"):
            raise SystemExit("several replicas share a PostgreSQL database: give --database-url postgresql://…")
        async with LocalBotApi(strict=True, overall_per_second=30, per_chat_per_second=1.0) as server:
            db, consultation, _receivers, commenters = await _prepare(url, server, contacts, delegates)
            ports = [_free_port() for _ in range(replicas)]
            balancer = Balancer([f"http://127.0.0.1:{port}/telegram" for port in ports])
            public = await balancer.start()
            processes = []
            try:
                for index, port in enumerate(ports):
                    log_path = Path(tmp) / f"replica-{index}.log"
                    processes.append(await _replica(server, url, port, public if index == 0 else None, log_path))
                opened_at = datetime.now(UTC)
                async with db.session() as session:
                    consultation = await rounds.resolve_consultation(session, consultation.name)
                    opened = await rounds.open_round(
                        session, CONSOLE, consultation, opened_at + timedelta(days=60), render=RENDERER, now=opened_at
                    )
                started = time.monotonic()
                stop = asyncio.Event()
                latencies: list[float] = []
                flows = [
                    asyncio.create_task(_comment_flows(user, refs, stop, latencies, seed))
                    for seed, (user, refs) in enumerate(commenters)
                ]
                while True:
                    async with db.session() as session:
                        left = await session.scalar(
                            select(func.count())
                            .select_from(Outbox)
                            .where(Outbox.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
                        )
                    if not left:
                        break
                    if time.monotonic() - started > 900:
                        raise RuntimeError("the circulation did not end within 15 minutes")
                    await asyncio.sleep(0.2)
                stop.set()
                await asyncio.gather(*flows)
                async with db.session() as session:
                    bulk, last = (
                        await session.execute(
                            select(func.count(), func.max(Outbox.sent_at)).where(Outbox.status == OutboxStatus.SENT)
                        )
                    ).one()
                    status = await outbox.sending(session)
            except BaseException:
                for index in range(len(processes)):
                    tail = (Path(tmp) / f"replica-{index}.log").read_text().splitlines()[-40:]
                    print(f"replica {index}, last lines of its log:", *tail, sep="\n", file=sys.stderr)
                raise
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    await process.wait()
                await balancer.stop()
                await db.dispose()
            window = max(1e-6, (last - opened_at).total_seconds()) if last else 1e-6
            horizon = opened_at.timestamp() + window
            messages = [
                c
                for c in server.calls
                if c.status == 200 and c.method in COUNTED and opened_at.timestamp() <= c.at <= horizon
            ]
            rejected = server.stats["rejected_429"]
            _explain_429s(server)
            for index in range(replicas):
                warnings = [
                    line
                    for line in (Path(tmp) / f"replica-{index}.log").read_text().splitlines()
                    if "429" in line or "send budget:" in line
                ]
                for line in warnings[:5]:
                    print(f"replica {index}: {line}", file=sys.stderr)
        lat = sorted(latencies) or [0.0]
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        replies = len(messages) - bulk
        print(
            f"contacts={contacts} delegates={delegates} queued={opened.messages_queued} sent={bulk} "
            f"window={window:.1f}s status_rate={status.send_rate:.1f}",
            file=sys.stderr,
        )
        return (
            f"reply_p95_ms={p95 * 1000:.0f} reply_max_ms={lat[-1] * 1000:.0f} "
            f"circulation_rate={bulk / window:.1f} r429={rejected} replicas={replicas} "
            f"reply_median_ms={statistics.median(lat) * 1000:.0f} replies={len(latencies)} "
            f"reply_rate={replies / window:.1f} total_rate={len(messages) / window:.1f} "
            f"database={'postgresql' if url.startswith('postgresql') else 'sqlite'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--delegates", type=int, default=20)
    parser.add_argument(
        "--database-url", help="database URL (default: a temporary SQLite file); its tables are emptied"
    )
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    print(asyncio.run(run(args.contacts, args.delegates, args.database_url, args.replicas)))


if __name__ == "__main__":
    main()
