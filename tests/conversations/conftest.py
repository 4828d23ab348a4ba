"""The bot running for real against the local Bot API server, with simulated people."""

from __future__ import annotations

import asyncio
import io
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
                await registry.join(session, issued.token, telegram_user_id=user.id, chat_id=user.id, username=None, full_name="D")
            outline = await rounds.import_draft(session, small_draft(), "plan.docx")
            consultation = await rounds.resolve_consultation(session, outline.consultation)
            now = datetime.now(UTC)
            opened = await rounds.open_round(session, CONSOLE, consultation, now + timedelta(days=30), render=RENDERER, now=now)
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
    async def running(self):
        """The bot process: build the application and poll until the block ends."""
        application = build_application(self.settings, db=Database(self.database_url))
        async with polling(application, poll_timeout=2):
            yield application


@pytest.fixture
async def env(database_url):
    async with LocalBotApi() as server:
        settings = make_settings(database_url, server.url)
        db = Database(database_url)
        async with db.session() as session:
            for code in ("SOMHD", "SLOM"):
                await registry.add_body(session, code)
            await registry.add_state(session, "Thailand", "TH", "Asia/Bangkok")
            await registry.add_state(session, "Philippines", "PH", "Asia/Manila")
        yield BotEnv(server, db, settings, database_url)
        await db.dispose()


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
