"""The bot running for real against the local Bot API server, with simulated people."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from lxml import etree

from bot.app import build_application
from bot.db import Database
from bot.rendering import RENDERER
from bot.runner import polling
from bot.services import registry
from bot.services.registry import CONSOLE
from localapi import LocalBotApi
from tests.conftest import make_settings

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass
class BotEnv:
    server: LocalBotApi
    db: Database
    settings: object
    database_url: str

    async def invite(self, role: str, body: str | None = None, state: str | None = None, name: str = "") -> str:
        async with self.db.session() as session:
            issued = await registry.issue_invite(session, CONSOLE, role=role, body=body, state=state, name=name)
        return issued.token

    async def join(self, user_id: int, role: str, body: str | None = None, state: str | None = None, name: str = ""):
        user = self.server.user(user_id, name or f"User{user_id}")
        await user.send(f"/start {await self.invite(role, body, state, name)}")
        await user.wait_for("registered")
        return user

    async def circulating(self, contacts: int, first_user_id: int):
        """`contacts` delegates (SOMHD, Thailand) who have opened the chat, and a round of the
        small draft opened for them: its messages queued, not yet sent."""
        from datetime import UTC, datetime, timedelta

        from bot.services import rounds
        from tests.factories import small_draft

        users = [self.server.user(first_user_id + n, f"D{n}") for n in range(contacts)]
        async with self.db.session() as session:
            for user in users:
                user.started = True
                issued = await registry.issue_invite(session, CONSOLE, role="delegate", body="SOMHD", state="Thailand")
                await registry.join(
                    session, issued.token, telegram_user_id=user.id, chat_id=user.id, username=None, full_name="D"
                )
            outline = await rounds.import_draft(session, small_draft(), "plan.docx")
            consultation = await rounds.resolve_consultation(session, outline.consultation)
            now = datetime.now(UTC)
            opened = await rounds.open_round(
                session, CONSOLE, consultation, now + timedelta(days=30), render=RENDERER, now=now
            )
        return users, opened

    async def queue_emptied(self, *, tries: int = 600) -> bool:
        """Wait until the outgoing queue holds nothing queued or being sent."""
        from bot.services import outbox

        for _ in range(tries):
            async with self.db.session() as session:
                if not await outbox.pending_count(session):
                    return True
            await asyncio.sleep(0.1)
        return False

    @asynccontextmanager
    async def replicas(self, settings, count: int = 2):
        """`count` webhook replicas of the bot on this database (behind no load balancer: the
        tests give them work through the database); yields their applications."""
        from bot.webhook import run_webhook

        stops, tasks, apps = [], [], []
        try:
            for _ in range(count):
                application = build_application(settings, db=Database(self.database_url))
                stop, ready = asyncio.Event(), asyncio.Event()
                tasks.append(
                    asyncio.create_task(
                        run_webhook(
                            application,
                            listen="127.0.0.1",
                            port=0,
                            path="telegram",
                            public_url=None,
                            secret="x",
                            stop_event=stop,
                            ready=ready,
                        )
                    )
                )
                await asyncio.wait_for(ready.wait(), 15)
                stops.append(stop)
                apps.append(application)
            yield apps
        finally:
            for stop in stops:
                stop.set()
            await asyncio.gather(*tasks)

    @asynccontextmanager
    async def running(self):
        """The bot process: build the application and poll until the block ends."""
        application = build_application(self.settings, db=Database(self.database_url))
        async with polling(application, poll_timeout=2):
            yield application


@pytest.fixture
async def env(database_url, caplog):
    """The local Bot API server in strict mode: whatever breaks one of Telegram's limits is
    refused as Telegram refuses it, and the test fails at its end if the bot broke one, or
    gave up on a message after a 429 (the bot is expected to wait and try again)."""
    async with LocalBotApi(strict=True) as server:
        settings = make_settings(database_url, server.url)
        db = Database(database_url)
        async with db.session() as session:
            for code in ("SOMHD", "SLOM"):
                await registry.add_body(session, code)
            await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
            await registry.add_state(session, "Philippines", "PH", "Asia/Manila")
        yield BotEnv(server, db, settings, database_url)
        await db.dispose()
    problems = [
        f"  broke a limit: {describe_call(call)}"
        for call in server.violations
        if not call.violation.startswith("Too Many Requests")
    ]
    problems += [f"  429 not handled, never sent again: {describe_call(call)}" for call in refused_for_good(server)]
    problems += [
        f"  429 not handled, gave up: {record.getMessage()}"
        for record in caplog.get_records("call")
        if record.name == "telegram.ext.AIORateLimiter" and record.levelno >= logging.ERROR
    ]
    if problems:
        pytest.fail("the bot broke Telegram's limits:\n" + "\n".join(problems), pytrace=False)


def refused_for_good(server: LocalBotApi) -> list:
    """Calls answered 429 whose last identical attempt was refused too (never went through)."""
    last = {}
    for call in server.calls:
        last[(call.method, json.dumps(call.params, sort_keys=True, default=str))] = call
    return [call for call in last.values() if call.status == 429]


def describe_call(call) -> str:
    """One call: the method, Telegram's answer and what was sent."""
    params = call.params
    sent = {name: params[name] for name in ("chat_id", "message_id", "parse_mode") if name in params}
    for name in ("text", "caption"):
        if name in params:
            sent[name] = params[name]
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        sent["callback_data"] = [b.get("callback_data") for row in markup["inline_keyboard"] for b in row]
    answer = call.violation or call.description
    return f"{call.method} -> {call.status} {answer!r}; sent {sent!r}"


def docx_comments(data: bytes) -> list[dict]:
    """Every Word comment of a .docx with its author and the text of the paragraphs it is anchored on."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        document = etree.fromstring(z.read("word/document.xml"))
        comments = etree.fromstring(z.read("word/comments.xml"))
    anchored: dict[str, str] = {}
    for start in document.iter(f"{W}commentRangeStart"):
        cid = start.get(f"{W}id")
        paragraph = start.getparent()
        while paragraph.tag != f"{W}p":
            paragraph = paragraph.getparent()
        anchored[cid] = "".join(t.text or "" for t in paragraph.iter(f"{W}t"))
    result = []
    for comment in comments.iter(f"{W}comment"):
        cid = comment.get(f"{W}id")
        result.append(
            {
                "author": comment.get(f"{W}author"),
                "text": "\n".join("".join(t.text or "" for t in p.iter(f"{W}t")) for p in comment.iter(f"{W}p")),
                "anchored": anchored.get(cid),
            }
        )
    return result
