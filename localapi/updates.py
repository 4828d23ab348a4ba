"""Updates: the queue of what simulated users do, ``getUpdates`` and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from localapi.core import ServerCore
from localapi.protocol import ApiError, api, bad, int_param
from localapi.users import _Signal

__all__ = ["UpdatesMixin"]

_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)


class UpdatesMixin(ServerCore):
    #: the current webhook ({"url", "secret_token", ...}) or None when polling
    webhook: dict | None
    #: every update ever pushed, for tests that replay them
    update_log: list[dict]
    _updates: list[dict]
    _next_update_id: int
    _allowed_updates: list[str] | None
    _updates_signal: _Signal
    _poll_generation: int
    _closing: bool
    _webhook_task: asyncio.Task | None
    _webhook_error: tuple[int, str] | None

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot."""
        return list(self._updates)

    def _push_update(self, kind: str, payload: dict) -> dict | None:
        """Queue an update for getUpdates or the webhook; returns it (None if filtered out)."""
        if self._allowed_updates and kind not in self._allowed_updates:
            return None
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.update_log.append(update)
        self._updates_signal.notify()
        return update

    def redeliver(self, update: dict) -> None:
        """Deliver an update again, as Telegram does when the bot did not confirm it before
        stopping (its getUpdates offset, or a webhook answered with an error)."""
        self._updates.append(update)
        self._updates_signal.notify()

    # ------------------------------------------------------------------ long polling

    @api("getUpdates")
    async def _get_updates(self, params: dict, files: dict) -> list[dict]:
        if self.webhook is not None:
            raise ApiError(409, _WEBHOOK_ACTIVE)
        offset = int_param(params, "offset", 0)
        limit = min(max(int_param(params, "limit", 100), 1), 100)
        try:
            timeout = max(float(params.get("timeout", 0) or 0), 0.0)
        except (TypeError, ValueError):
            raise bad("invalid timeout specified") from None
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]

        if offset < 0:
            del self._updates[: max(len(self._updates) + offset, 0)]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        # A newer getUpdates request terminates an older one, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()
        if timeout > 0 and not self._updates and not self._closing:
            await self._updates_signal.wait_until(
                lambda: bool(self._updates) or self._closing or self._poll_generation != generation,
                timeout,
            )
        if self._closing:
            return []
        if self.webhook is not None:
            raise ApiError(409, _WEBHOOK_ACTIVE)
        if self._poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        return self._updates[:limit]

    # ------------------------------------------------------------------ webhooks

    @api("setWebhook")
    async def _set_webhook(self, params: dict, files: dict) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:
            await self._delete_webhook(params, files)
            return True
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad("bad webhook: invalid webhook URL specified")
        if not _is_local_host(parts.hostname):
            raise bad("bad webhook: the local Bot API server only delivers to loopback or private addresses")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self.webhook = {
            "url": url,
            "secret_token": str(secret) if secret is not None else None,
            "max_connections": int_param(params, "max_connections", 40),
            "ip_address": params.get("ip_address"),
        }
        self._webhook_error = None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook(), name="localapi-webhook")
        # wake a pending getUpdates so that it reports the conflict
        self._poll_generation += 1
        self._updates_signal.notify()
        return True

    @api("deleteWebhook")
    async def _delete_webhook(self, params: dict, files: dict) -> bool:
        self.webhook = None
        self._webhook_error = None
        await self._stop_webhook_delivery()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    @api("getWebhookInfo")
    async def _get_webhook_info(self, params: dict, files: dict) -> dict:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("ip_address"):
                info["ip_address"] = self.webhook["ip_address"]
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_webhook(self) -> None:
        """POST queued updates to the webhook one at a time, in order, retrying on failure."""
        backoff = 0.1
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(trust_env=False, timeout=timeout) as session:
            while True:
                await self._updates_signal.wait_until(lambda: bool(self._updates) or self._closing, None)
                webhook = self.webhook
                if self._closing or webhook is None:
                    return
                update = self._updates[0]
                headers = {}
                if webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
                error: str | None = None
                try:
                    async with session.post(webhook["url"], json=update, headers=headers) as response:
                        await response.read()
                        if not 200 <= response.status < 300:
                            error = f"Wrong response from the webhook: {response.status} {response.reason}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = f"Connection failed: {exc.__class__.__name__}"
                if error is None:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    backoff = 0.1
                else:
                    self._webhook_error = (int(time.time()), error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)


def _is_local_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private
