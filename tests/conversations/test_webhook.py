"""Webhook mode: updates posted by the Bot API server, the secret header, the health endpoint."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import aiohttp
import pytest

from bot.app import build_application
from bot.db import Database
from bot.webhook import WebhookServer, run_webhook
from tests.conversations.test_round import import_small_draft, wait_sections

SECRET = "s3cret-token_value"


async def test_webhook_mode_serves_a_round(env):
    application = build_application(env.settings, db=Database(env.database_url))
    stop, ready, holder = asyncio.Event(), asyncio.Event(), []

    async def serve():
        # Port 0: any free port; the server learns it before the webhook is registered.
        await run_webhook(
            application,
            listen="127.0.0.1",
            port=0,
            path="telegram",
            public_url=None,
            secret=SECRET,
            stop_event=stop,
            ready=ready,
            server_holder=holder,
        )

    task = asyncio.create_task(serve())
    await asyncio.wait_for(ready.wait(), 15)
    port = holder[0].bound_port
    base = f"http://127.0.0.1:{port}"
    await application.bot.set_webhook(url=f"{base}/telegram", secret_token=SECRET)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                health = await response.json()
            assert response.status == 200 and health["status"] == "ok" and health["database"] == "ok"
            assert health["sending"]["queued"] == 0 and health["sending"]["flood_waits_last_hour"] == 0
            async with http.post(f"{base}/telegram", json={"update_id": 1}) as response:
                assert response.status == 403
            async with http.post(
                f"{base}/telegram", data="not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            ) as response:
                assert response.status == 400

        officer = env.server.user(100, "Mega")
        await officer.send(f"/start {await env.invite('secretariat')}")
        await officer.wait_for("registered", timeout=15)
        await import_small_draft(officer)
        delegate = env.server.user(200, "Somchai")
        await delegate.send(f"/start {await env.invite('delegate', 'SOMHD', 'Thailand')}")
        await delegate.wait_for("registered")
        await officer.send("/open 10")
        await officer.wait_for("is open until")
        await wait_sections(delegate, 3)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _raw_post(port: int, header: bytes) -> bytes:
    """A post with a secret header as raw bytes, which no HTTP client would send as they are."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 15\r\n"
        b"Connection: close\r\nX-Telegram-Bot-Api-Secret-Token: " + header + b'\r\n\r\n{"update_id":1}'
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n", 1)[0]


async def test_a_wrong_or_unreadable_secret_is_refused_with_403():
    # Nothing behind the check is reached: the server needs no application for this.
    server = WebhookServer(None, listen="127.0.0.1", port=0, path="telegram", secret=SECRET)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            for wrong in ("", SECRET[:-1], SECRET + "x", SECRET.upper(), "é" * 5):
                headers = {"X-Telegram-Bot-Api-Secret-Token": wrong}
                async with http.post(
                    f"http://127.0.0.1:{server.bound_port}/telegram", json={"update_id": 1}, headers=headers
                ) as response:
                    assert response.status == 403, wrong
        for raw in ("sécret".encode(), b"s\xe9cret", SECRET.encode() + b"\xff", b"\xf0\x9f\x94\x91"):
            assert await _raw_post(server.bound_port, raw) == b"HTTP/1.1 403 Forbidden", raw
    finally:
        await server.stop()


def test_a_webhook_cannot_be_served_without_a_secret():
    for secret in (None, ""):
        with pytest.raises(ValueError, match="needs its secret"):
            WebhookServer(None, listen="127.0.0.1", port=0, path="telegram", secret=secret)  # type: ignore[arg-type]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _webhook_process(env, *argv: str, **extra: str) -> asyncio.subprocess.Process:
    environment = {
        **{k: v for k, v in os.environ.items() if k != "WEBHOOK_SECRET"},
        "TELEGRAM_BOT_TOKEN": "123456:WEBHOOK-TOKEN",
        "TELEGRAM_API_URL": env.server.url,
        "DATABASE_URL": env.database_url,
        "QUIET_HOURS": "",
        "OUTBOX_POLL_SECONDS": "0.3",
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "webhook",
        *argv,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _until(process, text: str, seen: list[str], timeout: float = 30) -> None:
    async def read():
        while not any(text in line for line in seen):
            raw = await process.stdout.readline()
            if not raw:
                raise AssertionError("the process ended:\n" + "".join(seen))
            seen.append(raw.decode(errors="replace"))

    await asyncio.wait_for(read(), timeout)


async def _stop(process, seen: list[str]) -> str:
    process.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(process.communicate(), 30)
    return "".join(seen) + rest.decode(errors="replace")


async def test_clausebot_webhook_without_a_secret_generates_one_and_registers_it(env):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = await _webhook_process(env, "--url", base, "--listen", "127.0.0.1", "--port", str(port))
    seen: list[str] = []
    try:
        await _until(process, "webhook registered at", seen)
        secret = env.server.webhook["secret_token"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret), secret
        assert env.server.webhook["url"] == f"{base}/telegram"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/telegram", json={"update_id": 1}) as response:
                assert response.status == 403
            async with http.post(
                f"{base}/telegram", json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "guessed"}
            ) as response:
                assert response.status == 403
        officer = env.server.user(100, "Mega")  # delivered by the server, with the secret
        await officer.send(f"/start {await env.invite('secretariat')}")
        await officer.wait_for("registered", timeout=15)
    finally:
        output = await _stop(process, seen)
    assert process.returncode == 0, output
    assert "Traceback" not in output and secret not in output
    assert "no WEBHOOK_SECRET set: generated one and registered it with the webhook" in output


async def test_clausebot_webhook_registers_the_secret_it_is_given(env):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = await _webhook_process(
        env, "--url", base, "--listen", "127.0.0.1", "--port", str(port), WEBHOOK_SECRET=SECRET
    )
    seen: list[str] = []
    try:
        await _until(process, "webhook registered at", seen)
        assert env.server.webhook["secret_token"] == SECRET
    finally:
        output = await _stop(process, seen)
    assert process.returncode == 0, output
    assert "generated" not in output and SECRET not in output
