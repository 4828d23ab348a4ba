"""Reminders, summaries, nudges and deadline changes through the real bot."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.models import Consultation, Outbox, utcnow
from tests.conversations.test_round import import_small_draft, wait_sections


async def test_summary_nudge_mute_extend_late_and_close(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        chair = await env.join(150, "chair", "SOMHD", name="Chair of SOMHD")
        thai = await env.join(200, "delegate", "SOMHD", "Thailand")
        filipino = await env.join(201, "delegate", "SOMHD", "Philippines")
        await officer.send("/open 30")
        await officer.wait_for("is open until")
        parts = await wait_sections(thai, 3)
        await wait_sections(filipino, 3)
        await thai.press(parts[0], "No comments on this section")
        await thai.wait_for("no comments on section")

        await chair.send("/summary")
        chart = await chair.wait_for(lambda m: m.photo is not None)
        assert chart.file_bytes.startswith(b"\x89PNG")
        text = await chair.wait_for("Member States have responded")
        assert "1 of 2 Member States have responded" in text.content
        assert "✅ Thailand — no comments" in text.content and "⏳ Philippines — not yet" in text.content
        await chair.press(text, "Nudge the 1")
        assert "Nudged 1 delegate(s): Philippines" in (await chair.wait_for("Nudged")).content
        nudged = await filipino.wait_for("Your chair asks")
        assert "1 Purpose" in nudged.content
        await chair.send("/summary")
        again = await chair.wait_for("Member States have responded")
        query = await chair.press(again, "Nudge")
        answer = await chair.wait_callback_answer(query)
        assert "less than a day ago" in answer["text"]

        await filipino.press(nudged, "Mute reminders")
        assert "No more reminders" in (await filipino.wait_for("No more reminders")).content

        await filipino.send("/timezone Asia/Yangon")
        assert "Asia/Yangon" in (await filipino.next_message()).content
        await filipino.send("/timezone Mars/Olympus")
        assert "not a time zone" in (await filipino.next_message()).content
        await filipino.send("/deadline")  # times in chat follow the delegate's own zone at once
        assert "(UTC+6:30)" in (await filipino.wait_for("Deadlines")).content

        await officer.send("/reminders")
        plan = await officer.wait_for("Reminders for")
        assert "30d,14d,7d,3d,1d,0d" in plan.content and "reminder 7d" in plan.content

        await officer.send("/extend 10")
        assert "New deadline" in (await officer.wait_for("New deadline")).content
        notice = await filipino.wait_for(lambda m: m.document is not None)
        assert notice.document["file_name"] == "deadline.ics"
        assert b"BEGIN:VEVENT" in notice.file_bytes and "extended" in notice.content
        assert "(UTC+6:30)" in notice.content  # in the delegate's own time zone now

        # Past the deadline: refused, until late comments are allowed; then marked late.
        async with env.db.session() as session:
            consultation = await session.scalar(select(Consultation))
            consultation.deadline = utcnow() - timedelta(minutes=5)
        await filipino.send("/comment 2.2 Every three years.")
        assert "no longer accepted" in (await filipino.next_message()).content
        await officer.send("/latecomments on")
        assert "are accepted" in (await officer.wait_for("Late comments")).content
        await filipino.send("/comment 2.2 Every three years.")
        await filipino.press(await filipino.wait_for("What type"), "General")
        await filipino.press(await filipino.wait_for("propose new wording"), "Skip")
        await filipino.press(await filipino.wait_for("Please check"), "Send")
        assert "marked late" in (await filipino.wait_for("is recorded")).content

        await officer.send("/consolidate")
        # The officer's own deadline notice (.ics, through the outgoing queue) may come in first.
        document = await officer.wait_for(
            lambda m: m.document is not None and m.document["file_name"].endswith("-consolidated.docx"), timeout=60
        )
        from tests.conversations.conftest import docx_comments

        assert any("late" in c["text"].lower() for c in docx_comments(document.file_bytes))

        await officer.send("/close")
        await officer.wait_for("is closed")
        assert "closed" in (await thai.wait_for("is closed")).content


async def test_reminders_across_a_stop_and_restart_of_the_bot_process(env):
    """A short round (seconds): the first reminder comes from the first process, the second
    falls due while the bot is down and comes once from the second."""
    from tests.conversations.test_process import _stop

    extra = {
        "REMINDER_SCHEDULE": "30s,15s",
        "QUIET_HOURS": "",
        "DIGEST_EVERY": "",
        "SUMMARY_MILESTONES": "22s",
        "TIMETABLE_CHECK_SECONDS": "1",
    }
    process = await _start(env, extra)
    try:
        officer = env.server.user(100, "Mega")
        await officer.send(f"/start {await env.invite('secretariat')}")
        await officer.wait_for("registered", timeout=30)
        await import_small_draft(officer)
        chair = env.server.user(150, "Chair")
        await chair.send(f"/start {await env.invite('chair', 'SOMHD')}")
        await chair.wait_for("registered")
        delegate = env.server.user(200, "Somchai")
        await delegate.send(f"/start {await env.invite('delegate', 'SOMHD', 'Thailand')}")
        await delegate.wait_for("registered")
        opened_at = datetime.now(UTC)
        deadline = opened_at + timedelta(seconds=45)
        from bot.cli import main
        from tests.conversations.test_resilience import _cli

        code = await _cli(
            main,
            ["open", "--deadline", deadline.isoformat()],
            {"DATABASE_URL": env.database_url, "TIMEZONE": "Asia/Jakarta", **extra},
        )
        assert code == 0
        await wait_sections(delegate, 3)
        first = await delegate.wait_for("comments are due by", timeout=30)
        assert "3 Review" in first.content
    finally:
        await _stop(process)
    # The second reminder (15 s before the deadline) falls due while the bot is down.
    while datetime.now(UTC) < deadline - timedelta(seconds=14):  # noqa: ASYNC110 - waiting for the clock
        await asyncio.sleep(0.2)
    process = await _start(env, extra)
    try:
        await delegate.wait_for("comments are due by", timeout=14)
        await asyncio.sleep(2)
    finally:
        await _stop(process)
    reminders = [m for m in delegate.messages() if "comments are due by" in m.content]
    assert len(reminders) == 2
    chart = [m for m in chair.messages() if m.photo is not None]
    assert len(chart) == 1  # the 22-second milestone summary, once
    async with env.db.session() as session:
        keys = list(await session.scalars(select(Outbox.dedupe_key).where(Outbox.kind == "reminder")))
    assert len(keys) == 2


async def _start(env, extra):
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:PROCESS-TOKEN",
        "TELEGRAM_API_URL": env.server.url,
        "DATABASE_URL": env.database_url,
        "TIMEZONE": "Asia/Jakarta",
        "OUTBOX_POLL_SECONDS": "0.3",
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
