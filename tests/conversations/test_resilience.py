"""What must hold across restarts, deadlines, long sections and the command line."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from docx import Document
from sqlalchemy import func, select

from bot.models import Comment, Consultation, Outbox, utcnow
from tests.conversations.test_round import (
    import_small_draft,
    wait_sections,
    with_clause,
)


async def test_a_comment_in_progress_survives_a_restart_and_nothing_is_sent_twice(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open 10")
        await officer.wait_for("is open until")
        parts = await wait_sections(delegate, 3)
        await delegate.press(with_clause(parts, "1.1"), "💬 1.1")
        await delegate.press(await delegate.wait_for("What type of comment"), "General")
        await delegate.wait_for("Write your general comment")

    # The bot is down; the delegate writes anyway. The message waits at the server.
    await delegate.send("The period should start in 2027.")

    async with env.running():
        ask = await delegate.wait_for("propose new wording", timeout=15)
        await delegate.press(ask, "Skip")
        await delegate.press(await delegate.wait_for("Please check"), "Send")
        await delegate.wait_for("is recorded")
        await delegate.drain(quiet=0.5)

    sections_received = [m for m in delegate.messages() if "💬 1.1" in m.button_texts()]
    assert len(sections_received) == 1
    async with env.db.session() as session:
        comment = await session.scalar(select(Comment))
        assert comment.text == "The period should start in 2027."
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 4  # intro + 3 sections


async def test_after_the_deadline_the_round_is_closed_for_comments(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        delegate = await env.join(200, "delegate", "SLOM", "Philippines")
        await officer.send("/open 5")
        await officer.wait_for("is open until")
        parts = await wait_sections(delegate, 3)
        async with env.db.session() as session:
            consultation = await session.scalar(select(Consultation))
            consultation.deadline = utcnow() - timedelta(minutes=1)
        await delegate.press(with_clause(parts, "2.2"), "💬 2.2")
        closed = await delegate.wait_for("no longer accepted")
        assert "closed" in closed.content
        await delegate.send("/comment 2.2 Too late?")
        assert "no longer accepted" in (await delegate.next_message()).content
        await delegate.send("/deadline")
        assert "deadline has passed" in (await delegate.next_message()).content
    async with env.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0


async def test_a_round_opened_from_the_command_line_is_circulated_by_the_running_bot(env, tmp_path):
    from bot.cli import main

    draft = tmp_path / "plan.docx"
    from tests.factories import small_draft

    draft.write_bytes(small_draft())
    env_vars = {"DATABASE_URL": env.database_url, "TELEGRAM_API_URL": env.server.url, "TIMEZONE": "Asia/Jakarta"}
    async with env.running():
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        assert await _cli(main, ["import-draft", str(draft)], env_vars) == 0
        assert await _cli(main, ["open", "--days", "14"], env_vars) == 0
        await delegate.wait_for("You are asked to comment", timeout=15)
        await wait_sections(delegate, 3)


async def _cli(main, argv, env_vars):
    import os

    def call():
        saved = {k: os.environ.get(k) for k in env_vars}
        os.environ.update(env_vars)
        try:
            return main(argv)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    return await asyncio.to_thread(call)


def long_draft(clauses: int = 45) -> bytes:
    doc = Document()
    doc.add_paragraph("Regional Statistics Annex", style="Title")
    doc.add_heading("1. Indicators", level=1)
    sentence = "Member States will report the indicator disaggregated by sex, age, disability and location, "
    for n in range(1, clauses + 1):
        doc.add_paragraph(f"1.{n} " + sentence * 3 + f"item {n}.")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


async def test_a_long_section_arrives_in_parts_split_between_clauses(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await officer.send_document(long_draft(), "annex.docx")
        await officer.press(await officer.wait_for("Parsed outline"), "new consultation")
        await officer.wait_for("Draft stored")
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open")
        await officer.wait_for("is open until")
        await delegate.wait_for("You are asked to comment on 1 section")
        parts = await wait_sections(delegate, 1)
    assert len(parts) >= 4
    assert all(len(p.content) <= 4096 for p in parts)
    assert "(part 1 of" in parts[0].content
    refs = [label.replace("💬 ", "") for p in parts for label in p.button_texts() if label.startswith("💬")]
    assert refs == [f"1.{n}" for n in range(1, 46)]
    # Each part shows exactly the clauses it has buttons for.
    for part in parts:
        for label in part.button_texts():
            if label.startswith("💬"):
                assert f"{label[2:]} Member States" in part.content
    assert "✅ No comments on this section" in parts[-1].button_texts()
    assert all("✅ No comments on this section" not in p.button_texts() for p in parts[:-1])


async def test_a_delegate_who_blocked_the_bot_is_recorded_and_shown_unreachable(env):
    async with env.running():
        officer = await env.join(100, "secretariat")
        await import_small_draft(officer)
        reachable = await env.join(200, "delegate", "SOMHD", "Thailand", "Somchai")
        gone = await env.join(201, "delegate", "SOMHD", "Philippines", "Jose")
        gone.block()
        await officer.send("/open 10")
        await officer.wait_for("is open until")
        await wait_sections(reachable, 3)
        for _ in range(100):
            async with env.db.session() as session:
                statuses = {s for (s,) in await session.execute(select(Outbox.status).where(Outbox.chat_id == 201))}
            if statuses == {"blocked"}:
                break
            await asyncio.sleep(0.05)
        assert statuses == {"blocked"}
        await officer.send("/status")
        report = await officer.wait_for("so far")
        assert "unreachable (blocked the bot): Jose" in report.content
        assert "Philippines: 1 contact(s), 0/3 sections delivered" in report.content


async def test_an_update_delivered_again_does_not_create_a_second_comment(env):
    async with env.running():
        await env.join(100, "secretariat")
        officer = env.server.user(100)
        await import_small_draft(officer)
        delegate = await env.join(200, "delegate", "SOMHD", "Thailand")
        await officer.send("/open 10")
        await officer.wait_for("is open until")
        await wait_sections(delegate, 3)
        await delegate.send("/comment 1.1 Start in 2027.")
        await delegate.press(await delegate.wait_for("What type"), "General")
        await delegate.press(await delegate.wait_for("propose new wording"), "Skip")
        await delegate.press(await delegate.wait_for("Please check"), "Send")
        await delegate.wait_for("is recorded")
        await delegate.drain(quiet=0.5)
    # The bot stops before Telegram learnt how far it got: the same updates arrive again
    # when it is back.
    replays = [
        u
        for u in env.server.update_log
        if (u.get("message") or u.get("callback_query") or {}).get("from", {}).get("id") == 200
    ]
    assert len(replays) >= 5, replays  # /start, /comment and three presses
    shown = [(m.message_id, m.content, m.button_texts()) for m in delegate.messages()]
    answers = len([c for c in env.server.calls if c.method == "answerCallbackQuery"])
    for update in replays:
        env.server.redeliver(update)
    async with env.running():
        await delegate.send("/mycomments")
        await delegate.wait_for("You have 1 comment")
        await delegate.drain(quiet=0.5)
        assert not env.server._updates, "every update was fetched again"
    # Nothing of the first time was done again: no message rewritten, no button answered, and
    # the only new messages are the answer to /mycomments (its header and the one comment).
    assert [(m.message_id, m.content, m.button_texts()) for m in delegate.messages()[: len(shown)]] == shown
    new = delegate.messages()[len(shown) :]
    assert len(new) == 2 and "You have 1 comment" in new[0].content and "Start in 2027" in new[1].content
    assert len([c for c in env.server.calls if c.method == "answerCallbackQuery"]) == answers
    async with env.db.session() as session:
        from bot.models import Comment

        assert await session.scalar(select(func.count()).select_from(Comment)) == 1


async def test_while_the_database_is_slow_to_record_sends_sending_pauses(env, monkeypatch):
    """A message that went out and is not yet recorded as sent could arrive twice after a
    crash; when the database is slow to record, the bot stops sending rather than let such
    messages pile up, and goes on once it has caught up. Nothing is lost or sent twice."""
    from bot.services import outbox

    users, opened = await env.circulating(30, 8000)

    database_caught_up = asyncio.Event()
    record = outbox.mark_sent

    async def slow_record(*args, **kwargs):
        await database_caught_up.wait()
        return await record(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", slow_record)
    async with env.running() as application:
        sender = application.bot_data.sender
        sender.wake()
        await asyncio.sleep(1.5)  # at the bot's pace, some 40 messages would have gone by now
        out_unrecorded = len(env.server.calls_of("sendMessage"))
        assert 0 < out_unrecorded <= 8 == sender.unrecorded
        database_caught_up.set()
        assert await env.queue_emptied()
    assert len(env.server.calls_of("sendMessage")) == opened.messages_queued
    for user in users:
        contents = [m.content for m in user.messages()]
        assert len(contents) == len(set(contents)) == 4, (user.id, contents)
