"""Two bot instances sharing one PostgreSQL database (webhook replicas behind a load
balancer): nothing is sent twice and no reminder fires twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.models import Outbox, PlannedJob
from bot.rendering import RENDERER
from bot.services import outbox, registry, rounds
from bot.services.registry import CONSOLE
from bot.services.timetable import timing_from
from tests.conftest import make_settings
from tests.factories import small_draft

DELEGATES = 40


async def _queue_state(env) -> dict[str, int]:
    """The outgoing queue by kind and status, and the timetable's jobs by status: what a
    stalled run was waiting for."""
    async with env.db.session() as session:
        queue = await session.execute(
            select(Outbox.kind, Outbox.status, func.count()).group_by(Outbox.kind, Outbox.status)
        )
        jobs = await session.execute(
            select(PlannedJob.kind, PlannedJob.status, func.count()).group_by(PlannedJob.kind, PlannedJob.status)
        )
        return {f"{k}/{s}": n for k, s, n in queue} | {f"job {k}/{s}": n for k, s, n in jobs}


async def test_two_instances_share_the_work_without_doubles(env):
    if not env.database_url.startswith("postgresql"):
        pytest.skip("several instances share a PostgreSQL database")
    settings = make_settings(
        env.database_url,
        env.server.url,
        reminder_schedule="15s",
        quiet_hours="",
        digest_every="",
        summary_milestones="",
        timetable_check_seconds=0.5,
    )
    users = [env.server.user(1000 + n, f"Delegate{n}") for n in range(DELEGATES)]
    for user in users:
        await user.send("hello")  # the chat exists before the bot writes to it
    async with env.db.session() as session:
        for n, user in enumerate(users):
            issued = await registry.issue_invite(
                session,
                CONSOLE,
                role="delegate",
                body="SOMHD" if n % 2 else "SLOM",
                state="Thailand" if n % 3 else "Philippines",
            )
            await registry.join(
                session,
                issued.token,
                telegram_user_id=user.id,
                chat_id=user.id,
                username=None,
                full_name=user.first_name,
            )
        outline = await rounds.import_draft(session, small_draft(), "plan.docx")
        consultation = await rounds.resolve_consultation(session, outline.consultation)
        now = datetime.now(UTC)
        await rounds.open_round(
            session,
            CONSOLE,
            consultation,
            now + timedelta(seconds=25),
            render=RENDERER,
            now=now,
            timing=timing_from(settings),
        )

    async with env.replicas(settings) as apps:

        async def settled():
            async with env.db.session() as session:
                waiting = await outbox.pending_count(session)
                reminders = await session.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.kind == "reminder")
                )
            return waiting == 0 and reminders == DELEGATES

        for _ in range(400):
            if await settled():
                break
            await asyncio.sleep(0.1)
        assert await settled(), await _queue_state(env)
        sent_by = [app.bot_data.sender.sent for app in apps]

    for user in users:
        texts = Counter(m.content.split("\n")[1] if "\n" in m.content else m.content[:40] for m in user.messages())
        assert all(count == 1 for count in texts.values()), (user.id, texts)
        assert sum(1 for m in user.messages() if "comments are due by" in m.content) == 1
    async with env.db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(Outbox))
    # Every queued message reached Telegram once (a send refused with 429 and retried is not
    # a second delivery).
    delivered = [c for c in env.server.calls_of("sendMessage") if c.status == 200]
    assert len(delivered) == rows == DELEGATES * 5
    assert all(count > 0 for count in sent_by), sent_by
