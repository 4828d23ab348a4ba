"""Webhook mode: updates posted by the Bot API server, the secret header, the health endpoint."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.app import build_application
from bot.db import Database
from bot.webhook import run_webhook
from tests.conversations.test_round import import_small_draft, wait_sections

SECRET = "s3cret-token_value"


async def test_webhook_mode_serves_a_round(env):
    application = build_application(env.settings, db=Database(env.database_url))
    stop, ready, holder = asyncio.Event(), asyncio.Event(), []

    async def serve():
        # Port 0: any free port; the server learns it before the webhook is registered.
        await run_webhook(
            application, listen="127.0.0.1", port=0, path="telegram", public_url=None,
            secret=SECRET, stop_event=stop, ready=ready, server_holder=holder,
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
