"""Webhook mode: an HTTP server for Telegram's updates (behind a reverse proxy), with a
health endpoint for the load balancer.

Several replicas may run against one PostgreSQL database: the outgoing queue and the
timetable are claimed in the database, so nothing is sent or fired twice.

A webhook always has a secret: Telegram sends it with every update, and a post without it
is refused. Without one, anyone who learnt the URL could post updates in any user's name.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from contextlib import suppress

from aiohttp import web
from sqlalchemy import text
from telegram import Update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024


def same_secret(given: str | None, secret: str) -> bool:
    """Whether a request's header holds the secret, compared in constant time. A header
    with bytes that are not UTF-8 (or not text) is simply not the secret."""
    if given is None:
        return False
    try:
        # aiohttp hands undecodable header bytes over as surrogate escapes: give them back.
        raw = given.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(raw, secret.encode("utf-8"))


class WebhookServer:
    def __init__(self, application, *, listen: str, port: int, path: str, secret: str) -> None:
        if not secret:
            raise ValueError("a webhook needs its secret")
        self.application = application
        self.listen = listen
        self.port = port
        self.path = "/" + path.strip("/")
        self.secret = secret
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._update)
        app.router.add_get("/healthz", self._health)
        return app

    async def _update(self, request: web.Request) -> web.Response:
        if not same_secret(request.headers.get(SECRET_HEADER), self.secret):
            return web.json_response({"ok": False, "error": "bad secret token"}, status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, self.application.bot)
        except (json.JSONDecodeError, ValueError, TypeError, KeyError):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        await self.application.update_queue.put(update)
        return web.json_response({"ok": True})

    async def _health(self, _request: web.Request) -> web.Response:
        bot_data = self.application.bot_data
        body = {"status": "ok", "bot": bot_data.bot_username, "updates_waiting": self.application.update_queue.qsize()}
        try:
            async with bot_data.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            body["database"] = "ok"
        except Exception as exc:  # the load balancer should take this replica out
            log.debug("health check: the database did not answer", exc_info=True)
            body.update(status="unavailable", database=type(exc).__name__)
            return web.json_response(body, status=503)
        if bot_data.sender is not None:
            body["instance"] = bot_data.sender.instance
        # This process's sending (bot/budget.py), and the queue all instances share.
        budget = bot_data.budget
        rate, replies = budget.rates()
        body["sending"] = {
            "messages_per_second": round(rate, 2),
            "replies_per_second": round(replies, 2),
            "flood_waits_last_hour": budget.floods_last_hour(),
        }
        try:
            from bot.services import outbox

            async with bot_data.db.session() as session:
                body["sending"]["queued"] = await outbox.pending_count(session)
        except Exception:
            log.debug("health check: the queue could not be counted", exc_info=True)
        return web.json_response(body)

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def run_webhook(
    application,
    *,
    listen: str,
    port: int,
    path: str,
    public_url: str | None,
    secret: str,
    stop_event: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    server_holder: list | None = None,
) -> None:
    """The whole lifecycle: start the bot, register the webhook with its secret, serve until
    SIGTERM/SIGINT (or `stop_event`), then finish the updates in hand and stop."""
    if not secret:
        raise ValueError("a webhook needs its secret")
    stop_event = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop_event.set)
    server = WebhookServer(application, listen=listen, port=port, path=path, secret=secret)
    if server_holder is not None:
        server_holder.append(server)
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        await server.start()
        if public_url:
            await application.bot.set_webhook(
                url=public_url.rstrip("/") + server.path,
                secret_token=secret,
                allowed_updates=["message", "callback_query"],
            )
            log.info("webhook registered at %s%s", public_url.rstrip("/"), server.path)
        if ready is not None:
            ready.set()
        await stop_event.wait()
        log.info("stopping: no new updates are accepted; finishing the ones in hand")
        await server.stop()
    finally:
        await server.stop()
        if application.running:
            await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
