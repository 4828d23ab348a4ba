"""The one path for messages the bot sends on its own initiative.

A background task claims due rows of the outbox, sends them and records the outcome. The
pace is the bot's one send budget (bot/budget.py), where these sends come after replies to
people; a 429 is waited out there, for that chat only. Transient network errors are
retried with backoff; a 403 marks the contact unreachable. A message put back for another
try holds up the later ones of its chat, so that each chat's messages arrive in order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.budget import FloodWait, SendBudget, retry_seconds
from bot.callbacks import CopyText
from bot.db import Database
from bot.models import utcnow
from bot.services import outbox

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 10.0  # seconds
BULK = {"bulk": True}  # rate_limit_args: the budget's lower priority


def markup(rows: Sequence[Sequence[Sequence[str]]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[_button(button) for button in row] for row in rows])


def _button(button: Sequence[str]) -> InlineKeyboardButton:
    label, data = button
    if isinstance(button, CopyText):
        return InlineKeyboardButton(label, copy_text=CopyTextButton(data))
    return InlineKeyboardButton(label, callback_data=data)


def _file(payload: dict[str, Any], key: str, filename: str) -> InputFile:
    return InputFile(io.BytesIO(base64.b64decode(payload[key])), filename=filename)


class OutboxSender:
    def __init__(
        self,
        bot: ExtBot[Any],
        db: Database,
        *,
        poll_seconds: float = 2.0,
        concurrency: int = 32,
        unrecorded: int = 8,
        batch: int = 100,
        instance_timeout: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        budget: SendBudget | None = None,
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.budget = budget
        self.instance_timeout = instance_timeout
        self.heartbeat_every = min(HEARTBEAT_EVERY, instance_timeout / 3)
        self.db = db
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        # Messages out to Telegram and not yet recorded as sent: the ones a SIGKILL can make
        # arrive twice. Bounded, so that a slow database pauses sending instead of letting
        # them pile up (8 keep the pace with Telegram a few hundred milliseconds away).
        self.unrecorded = unrecorded
        self._out = asyncio.Semaphore(unrecorded)
        self.batch = batch
        self._recording: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._stopping = False
        self.sent = 0
        self.instance = str(uuid.uuid4())
        self.description = f"{socket.gethostname()} pid {os.getpid()}"
        self._last_heartbeat = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self.budget is not None:
            self.budget.on_flood = self._flooded
        await self._housekeeping(force=True)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")
        self._beat = asyncio.create_task(self._heartbeats(), name="outbox-heartbeat")

    async def _heartbeats(self) -> None:
        # Its own task, so a long sending pass never makes a live instance look dead.
        while not self._stopping:
            await asyncio.sleep(self.heartbeat_every / 2)
            try:
                await self._housekeeping()
            except Exception:
                log.warning("heartbeat failed", exc_info=True)

    async def _housekeeping(self, *, force: bool = False) -> None:
        """Heartbeat, and put back the claims of instances that died mid-send."""
        if not force and time.monotonic() - self._last_heartbeat < self.heartbeat_every:
            return
        self._last_heartbeat = time.monotonic()
        send_rate, reply_rate = self.budget.rates() if self.budget is not None else (0.0, 0.0)
        async with self.db.session() as session:
            await outbox.heartbeat(
                session, self.instance, self.description, now=self.clock(), send_rate=send_rate, reply_rate=reply_rate
            )
            requeued = await outbox.requeue_interrupted(
                session, now=self.clock(), timeout=timedelta(seconds=self.instance_timeout)
            )
        if requeued:
            log.warning("%d message(s) claimed by a stopped instance are queued again", requeued)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=30)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        try:
            async with self.db.session() as session:
                await outbox.forget_instance(session, self.instance)
        except Exception:
            log.warning("could not sign this instance off", exc_info=True)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                worked = await self.run_once()
            except Exception:  # keep the loop alive; the rows stay queued
                log.exception("outbox pass failed")
                worked = 0
            if worked:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass

    async def run_once(self) -> int:
        async with self.db.session() as session:
            items = await outbox.claim(session, limit=self.batch, now=self.clock(), instance=self.instance)
        if not items:
            return 0
        gate = asyncio.Semaphore(self.concurrency)
        by_chat: dict[int, list[outbox.ClaimedMessage]] = {}
        for item in items:
            by_chat.setdefault(item.chat_id, []).append(item)
        unsent = {item.id for item in items}

        async def chat(queue: list[outbox.ClaimedMessage]) -> None:
            # One chat's messages go in order (section parts, a chart before its summary);
            # one put back for later holds the rest of its chat back with it.
            async with gate:
                for item in queue:
                    if self.budget is not None:  # the chat's turn first, holding nothing
                        await self.budget.chat_ready(item.chat_id)
                    async with self._out:
                        if self._stopping:  # sends under way finish; no new one starts
                            return
                        unsent.discard(item.id)
                        if not await self._deliver(item):
                            return

        await asyncio.gather(*(chat(queue) for queue in by_chat.values()))
        if unsent:
            async with self.db.session() as session:
                released = await outbox.release(session, sorted(unsent), self.instance)
            if self._stopping:
                log.info("stopping: %d message(s) given back to the queue", released)
        return len(items)

    def _flooded(self, flood: FloodWait) -> None:
        """Keep each 429 in the database, for `clausebot status` (off the sending path)."""

        async def record() -> None:
            try:
                async with self.db.session() as session:
                    await outbox.record_flood_wait(
                        session,
                        instance=self.instance,
                        method=flood.method,
                        chat_id=flood.chat_id,
                        retry_after=flood.retry_after,
                        bulk=flood.bulk,
                        now=self.clock(),
                    )
            except Exception:
                log.warning("could not record an answer of 429", exc_info=True)

        task = asyncio.create_task(record())
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _send(self, chat_id: int, payload: dict[str, Any]) -> Message:
        keyboard = markup(payload.get("buttons"))
        if payload.get("photo"):
            return await self.bot.send_photo(
                chat_id=chat_id,
                photo=_file(payload, "photo", "chart.png"),
                caption=payload["text"],
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                rate_limit_args=BULK,
            )
        if payload.get("document"):
            return await self.bot.send_document(
                chat_id=chat_id,
                document=_file(payload, "document", payload.get("filename") or "file"),
                caption=payload["text"],
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                rate_limit_args=BULK,
            )
        return await self.bot.send_message(
            chat_id=chat_id,
            text=payload["text"],
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            rate_limit_args=BULK,
        )

    async def _deliver(self, item: outbox.ClaimedMessage) -> bool:
        """Send one message and record what became of it. False when it was put back in the
        queue for later: the rest of its chat waits for it."""
        payload = item.payload
        try:
            message = await self._send(item.chat_id, payload)
        except Forbidden as exc:
            async with self.db.session() as session:
                await outbox.mark_blocked(session, item, str(exc), now=self.clock())
            log.info("contact %s unreachable: %s", item.contact_id, exc)
            return True
        except RetryAfter as exc:  # still 429 after the budget's own waits
            async with self.db.session() as session:
                await outbox.retry_later(
                    session, item, str(exc), delay=retry_seconds(exc.retry_after), now=self.clock()
                )
            return False
        except BadRequest as exc:
            async with self.db.session() as session:
                await outbox.mark_failed(session, item, str(exc))
            log.error("message %s refused by Telegram: %s", item.id, exc)
            return True
        except (TimedOut, NetworkError) as exc:
            async with self.db.session() as session:
                await outbox.retry_later(session, item, str(exc), now=self.clock())
            return False
        async with self.db.session() as session:
            await outbox.mark_sent(
                session,
                item,
                message.message_id,
                now=self.clock(),
                instance=self.instance,
                alive_within=timedelta(seconds=self.instance_timeout),
            )
        self.sent += 1
        return True
