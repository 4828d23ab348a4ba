"""`clausebot run` and `clausebot demo` as separate processes against the local Bot API server."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import zipfile

from docx import Document
from openpyxl import load_workbook

from documents.matrix import DISPOSITION_HEADER
from documents.sample import sample_draft
from tests.conversations.test_round import import_small_draft, wait_sections
from tests.documents.ooxml_check import validation_errors


async def _start_bot(env, extra: dict | None = None) -> asyncio.subprocess.Process:
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:PROCESS-TOKEN",
        "TELEGRAM_API_URL": env.server.url,
        "DATABASE_URL": env.database_url,
        "TIMEZONE": "Asia/Jakarta",
        "OUTBOX_POLL_SECONDS": "0.3",
        "QUIET_HOURS": "",
        **(extra or {}),
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


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return output.decode(errors="replace")


async def test_clausebot_run_serves_a_round_and_stops_cleanly_on_sigterm(env):
    process = await _start_bot(env)
    try:
        officer = env.server.user(100, "Mega")
        await officer.send(f"/start {await env.invite('secretariat')}")
        await officer.wait_for("registered", timeout=30)
        await import_small_draft(officer)
        delegate = env.server.user(200, "Somchai")
        await delegate.send(f"/start {await env.invite('delegate', 'SOMHD', 'Thailand')}")
        await delegate.wait_for("registered")
        await officer.send("/open 20")
        await officer.wait_for("is open until")
        await wait_sections(delegate, 3)
    finally:
        log = await _stop(process)
    assert process.returncode == 0, log
    assert "Traceback" not in log


async def test_the_demo_writes_a_consolidated_draft(tmp_path):
    out = tmp_path / "demo.docx"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "demo",
        "--out",
        str(out),
        "--delegates",
        "4",
        "--comments",
        "6",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = output.decode()
    assert process.returncode == 0, text
    lines = text.strip().splitlines()
    assert lines[-1] == str(out.resolve())
    assert any("Circulated" in line for line in lines)
    assert any("withdrew one comment" in line for line in lines)
    assert any("/publish: Answers to 3 comment(s)" in line for line in lines)
    # After the first round: v1, final comments on its changed clauses, SOMSWD's review.
    assert any("final comments stage (stage 2, v1)" in line for line in lines)
    assert any("/stage: 3. Review on v1 to SOMSWD: 🟢 open until" in line for line in lines)
    assert out.with_name("demo-v1.docx").is_file()
    # Then endorsement under the silence procedure: one objection, changed to a reservation.
    assert any("Ballots sent to" in line and "Silence procedure" in line for line in lines)
    assert any("cannot endorse: “🚨 The silence is broken" in line for line in lines)
    assert any("At the deadline:" in line and "endorsed with reservations" in line for line in lines)
    record = Document(io.BytesIO(out.with_name("demo-endorsement.docx").read_bytes()))
    assert any("silence" in p.text.lower() for p in record.paragraphs)
    names = zipfile.ZipFile(out.with_name("demo-record.zip")).namelist()
    assert "endorsement/endorsement-v1.docx" in names and "comparisons/v0-to-v1.docx" in names
    comments = list(Document(io.BytesIO(out.read_bytes())).comments)
    assert len([c for c in comments if c.author != "Secretariat"]) == 5  # six sent, one withdrawn
    assert len([c for c in comments if c.author == "Secretariat"]) == 3  # the answers given, as replies
    sheet = load_workbook(out.with_name("demo-comment-matrix.xlsx")).active
    header = [cell.value for cell in sheet[1]]
    given = [row[header.index(DISPOSITION_HEADER)].value for row in sheet.iter_rows(min_row=2)]
    assert sorted(filter(None, given)) == ["Accepted", "Accepted in part", "Noted"]
    # What the demo writes is valid ECMA-376 transitional, but for what the sample draft
    # itself carries (python-docx's template: a zoom without its percentage).
    inherited = set(validation_errors(sample_draft()))
    for name in ("demo.docx", "demo-with-proposals.docx", "demo-v1.docx", "demo-endorsement.docx"):
        assert set(validation_errors(out.with_name(name).read_bytes())) <= inherited, name
    assert validation_errors(out.with_name("demo-comment-matrix.xlsx").read_bytes()) == {}


async def test_killed_mid_circulation_and_restarted_every_contact_gets_every_section(env):
    """SIGKILL while circulating, then a new process: nothing is lost; a message that had
    gone out and was not yet recorded at the very moment of the kill may arrive twice
    (never more than 8 of them), nothing else does."""
    users, opened = await env.circulating(60, 5000)
    extra = {"INSTANCE_TIMEOUT_SECONDS": "2"}
    process = await _start_bot(env, extra)
    try:
        for _ in range(200):
            if len(env.server.calls_of("sendMessage")) >= opened.messages_queued // 3:
                break
            await asyncio.sleep(0.05)
        process.kill()
        await process.wait()
        sent_before = len(env.server.calls_of("sendMessage"))
        assert 0 < sent_before < opened.messages_queued
        process = await _start_bot(env, extra)
        assert await env.queue_emptied()
    finally:
        if process.returncode is None:
            await _stop(process)
    duplicates = 0
    for user in users:
        contents = [m.content for m in user.messages()]
        assert len(set(contents)) == 4, (user.id, contents)  # the introduction and three sections
        duplicates += len(contents) - len(set(contents))
    assert duplicates <= 8  # out and not yet recorded at the kill: the sender allows no more


async def test_sigterm_finishes_the_update_in_hand_and_leaves_the_queue_consistent(env):
    """SIGTERM while a reply and a circulation are under way (the network is slow): the update
    in hand is finished and recorded, sends under way are recorded, the rest of the queue is
    given back; after a restart everyone has everything exactly once."""
    from sqlalchemy import func, select

    from bot.models import CommentDraft, Outbox, ProcessedUpdate

    contacts = 24
    users, opened = await env.circulating(contacts, 7000)
    writer = users[0]
    env.server.delays["sendmessage"] = 0.6  # every message takes a while to go out
    process = await _start_bot(env)
    try:
        for _ in range(300):
            if len(env.server.calls_of("sendMessage")) >= 10:
                break
            await asyncio.sleep(0.05)
        await writer.send("/comment 1.1 The target year should be stated.")
        for _ in range(300):  # the bot is answering it: the update is in hand
            if any(
                str(c.params.get("chat_id")) == str(writer.id) and "What type" in c.params.get("text", "")
                for c in env.server.calls_of("sendMessage")
            ):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(
                f"the bot never began answering the comment: {[(c.params.get('chat_id'), c.params.get('text', '')[:30]) for c in env.server.calls_of('sendMessage')][-5:]}"
            )
        log = await _stop(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, log
    assert "Traceback" not in log

    await writer.wait_for("What type", timeout=5)  # the update in hand was answered...
    async with env.db.session() as session:  # ...and its effects and its record were committed
        assert await session.get(CommentDraft, await _contact_id(session, writer.id)) is not None
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) >= 1
        statuses = dict((await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all())
        sent_rows = await session.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "sent"))
    assert "sending" not in statuses, statuses  # nothing left claimed by the stopped process
    assert statuses.get("queued", 0) > 0, statuses  # it stopped mid-circulation
    delivered = sum(len(u.messages()) for u in users) - 1  # less the prompt
    assert delivered == sent_rows  # every message that went out is recorded as sent

    env.server.delays.clear()
    process = await _start_bot(env)
    try:
        assert await env.queue_emptied()
        await asyncio.sleep(0.5)
    finally:
        await _stop(process)
    for user in users:
        contents = [m.content for m in user.messages() if "What type" not in m.content]
        assert len(contents) == len(set(contents)) == 4, (user.id, contents)  # the introduction and three sections
    assert sum(1 for m in writer.messages() if "What type" in m.content) == 1
    assert opened.messages_queued == contacts * 4


async def _contact_id(session, telegram_user_id: int) -> int:
    from sqlalchemy import select

    from bot.models import Contact

    return await session.scalar(select(Contact.id).where(Contact.telegram_user_id == telegram_user_id))
