"""`clausebot run` and `clausebot demo` as separate processes against the local Bot API server."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys

from docx import Document

from tests.conversations.test_round import import_small_draft, wait_sections


async def _start_bot(env) -> asyncio.subprocess.Process:
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:PROCESS-TOKEN",
        "TELEGRAM_API_URL": env.server.url,
        "DATABASE_URL": env.database_url,
        "TIMEZONE": "Asia/Jakarta",
        "OUTBOX_POLL_SECONDS": "0.3",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run",
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
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
        sys.executable, "-m", "bot.cli", "demo", "--out", str(out), "--delegates", "4", "--comments", "6",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = output.decode()
    assert process.returncode == 0, text
    lines = text.strip().splitlines()
    assert lines[-1] == str(out.resolve())
    assert any("Circulated" in line for line in lines)
    assert any("withdrew one comment" in line for line in lines)
    document = Document(io.BytesIO(out.read_bytes()))
    assert len(list(document.comments)) == 5  # six sent, one withdrawn
