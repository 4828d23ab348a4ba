"""One send budget per bot token: people answered first, bulk sending fills the rest.

Telegram counts every message a bot sends against one overall limit (about 30 a second)
and about one a second in each chat, replies and edits included. Every request of the bot
passes through here (this is python-telegram-bot's rate limiter hook), so the outgoing
queue and the replies to people draw on the same budget:

* **Slots.** Sends are spaced on one timeline at ``per_second``. A process takes one slot
  at a time, when it has something to send, and hands it to the most urgent waiter when
  the slot comes: a reply to someone who just acted goes before any queued bulk message,
  bulk uses the slots nobody needed. There is no fixed share for either.
* **Shared.** On PostgreSQL the timeline is a row of ``send_budget``: every process sending
  for the bot takes its slots from it (one short UPDATE a slot), so two replicas together
  keep to the rate one would. On SQLite there is one process, and the timeline is kept in
  memory.
* **Per chat.** A chat gets a short burst (a reply in parts, an edit and a message) and
  then about one message a second; bulk messages are spaced a little over a second apart.
* **429.** Telegram does not say which limit an answer of 429 ("retry after N") is about.
  The chat concerned waits N seconds; every other chat goes on. The shared rate is lowered
  by an eighth for half a minute (again at each further 429, to at most half the rate),
  then restored. Slots are spaced from the moment they are taken, so a pause never ends
  in a burst. Each 429 is logged once with what it held up, and recorded (``flood_waits``)
  for ``clausebot status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.services import outbox

if TYPE_CHECKING:
    from bot.db import Database

log = logging.getLogger(__name__)

PERSON = 0  # a reply, an edit or a file for someone who just acted
BULK = 1  # the outgoing queue: circulation, reminders, summaries

# What Telegram counts as a message (the rest, answerCallbackQuery included, is free).
COUNTED = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendMediaGroup",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "editMessageMedia",
    }
)

SLOW_FOR = 30.0  # seconds the rate stays lowered after a 429
SLOW_STEP = 1.15  # each 429 spaces the slots this much further apart…
SLOW_MOST = 2.0  # …up to this factor
PER_CHAT_BURST = 10  # as Telegram allows a person tapping through a flow (localapi/limits.py)
PER_CHAT_PER_SECOND = 1.0
# Bulk messages to one chat: a little over a second apart (across processes, the queue).
BULK_CHAT_INTERVAL = outbox.CHAT_GAP.total_seconds()
LATE = 1.0  # a slot not used before the next one is due is given up


def retry_seconds(value: float | timedelta) -> float:
    return float(value.total_seconds()) if isinstance(value, timedelta) else float(value)


class LocalTimeline:
    """The slots of one process (SQLite: the only one)."""

    shared = False

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / per_second
        self.clock = clock
        self._next = 0.0
        self._factor = 1.0
        self._slow_until = 0.0

    def factor(self) -> float:
        return self._factor if self.clock() < self._slow_until else 1.0

    async def take(self) -> float:
        """Reserve the next slot: the seconds to wait for it."""
        now = self.clock()
        slot = max(self._next, now)
        self._next = slot + self.interval * self.factor()
        return slot - now

    async def slow_down(self) -> float:
        now = self.clock()
        self._factor = min(self._factor * SLOW_STEP, SLOW_MOST) if now < self._slow_until else SLOW_STEP
        self._slow_until = now + SLOW_FOR
        return self._factor


# The shared timeline. Times are the database's own clock (seconds since the epoch), so the
# hosts' clocks never have to agree; a process is told only how long to wait.
_NOW = "extract(epoch from clock_timestamp())::float8"
_FACTOR = "CASE WHEN b.slow_until > c.now THEN b.slow_factor ELSE 1.0 END"
_TAKE = text(
    f"WITH c AS (SELECT {_NOW} AS now) "
    f"UPDATE send_budget AS b SET next_at = GREATEST(b.next_at, c.now) + :interval * {_FACTOR} "
    f"FROM c WHERE b.bot_id = :bot "
    f"RETURNING b.next_at - :interval * {_FACTOR} - c.now"
)
_SLOW = text(
    f"WITH c AS (SELECT {_NOW} AS now) "
    "UPDATE send_budget AS b SET "
    f"slow_factor = CASE WHEN b.slow_until > c.now THEN LEAST(b.slow_factor * {SLOW_STEP}, {SLOW_MOST}) "
    f"ELSE {SLOW_STEP} END, slow_until = c.now + {SLOW_FOR} "
    "FROM c WHERE b.bot_id = :bot RETURNING b.slow_factor"
)
_CREATE = text(
    "INSERT INTO send_budget (bot_id, next_at, slow_factor, slow_until) VALUES (:bot, 0, 1, 0) "
    "ON CONFLICT (bot_id) DO NOTHING"
)
_FACTOR_NOW = text(
    f"SELECT CASE WHEN slow_until > {_NOW} THEN slow_factor ELSE 1.0 END FROM send_budget WHERE bot_id = :bot"
)


class SharedTimeline:
    """The slots of every process sending for one bot, kept in the database (PostgreSQL)."""

    shared = True

    def __init__(self, db: Database, bot_id: str, per_second: float, fallback: LocalTimeline) -> None:
        self.db = db
        self.bot_id = bot_id
        self.interval = 1.0 / per_second
        self.fallback = fallback
        self._warned = False

    async def prepare(self) -> None:
        async with self.db.engine.begin() as connection:
            await connection.execute(_CREATE, {"bot": self.bot_id})

    async def take(self) -> float:
        asked = time.monotonic()
        try:
            async with self.db.engine.begin() as connection:
                wait = (await connection.execute(_TAKE, {"bot": self.bot_id, "interval": self.interval})).scalar()
        except Exception:
            # The database is away: go on alone, at this process's share of the rate.
            if not self._warned:
                log.warning("send budget: the database did not answer; pacing this process alone", exc_info=True)
                self._warned = True
            return await self.fallback.take()
        self._warned = False
        # The database reckoned the wait somewhere between the question and the answer.
        return float(wait or 0.0) - (time.monotonic() - asked) / 2

    async def slow_down(self) -> float:
        try:
            async with self.db.engine.begin() as connection:
                factor = (await connection.execute(_SLOW, {"bot": self.bot_id})).scalar()
            return float(factor or SLOW_STEP)
        except Exception:
            return await self.fallback.slow_down()

    def factor(self) -> float:
        return self.fallback.factor()


@dataclass
class _Chat:
    tokens: float
    stamp: float
    last: float = -1e9
    held_until: float = 0.0


class ChatPace:
    """About one message a second in each chat, after a short burst."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        burst: int = PER_CHAT_BURST,
        per_second: float = PER_CHAT_PER_SECOND,
        bulk_interval: float = BULK_CHAT_INTERVAL,
    ) -> None:
        self.clock = clock
        self.burst = burst
        self.per_second = per_second
        self.bulk_interval = bulk_interval
        self._chats: dict[object, _Chat] = {}

    def _chat(self, chat: object, now: float) -> _Chat:
        state = self._chats.get(chat)
        if state is None:
            if len(self._chats) > 50_000:  # forget chats long quiet
                self._chats = {c: s for c, s in self._chats.items() if s.last > now - 60 or s.held_until > now}
            state = self._chats[chat] = _Chat(tokens=self.burst, stamp=now)
        elif now > state.stamp:
            state.tokens = min(self.burst, state.tokens + (now - state.stamp) * self.per_second)
            state.stamp = now
        return state

    def wait(self, chat: object, priority: int) -> float:
        """Seconds before a message of this priority may go to this chat."""
        now = self.clock()
        state = self._chat(chat, now)
        wait = max(0.0, state.held_until - now)
        if state.tokens < 1:
            wait = max(wait, (1 - state.tokens) / self.per_second)
        if priority == BULK:
            wait = max(wait, state.last + self.bulk_interval - now)
        return wait

    def sent(self, chat: object) -> None:
        now = self.clock()
        state = self._chat(chat, now)
        state.tokens = max(0.0, state.tokens - 1)
        state.last = now

    def hold(self, chat: object, seconds: float) -> None:
        now = self.clock()
        state = self._chat(chat, now)
        state.held_until = max(state.held_until, now + seconds)


class _Slots:
    """Hands out the timeline's slots, the most urgent waiter first (then first come)."""

    def __init__(self, timeline: LocalTimeline | SharedTimeline) -> None:
        self.timeline = timeline
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None

    async def take(self, priority: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._hand_out(), name="send-budget")
        await future  # cancelled: the slot goes to the next waiter

    def _pending(self) -> bool:
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        return bool(self._waiters)

    async def _hand_out(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending():
            wait = await self.timeline.take()
            due = loop.time() + wait
            if wait > 0:
                await asyncio.sleep(wait)
            if loop.time() - due > LATE * self.timeline.interval:
                # The event loop was busy past the slot and into the next one's time: it is given
                # up rather than used there beside the next (a burst). A slot used a little late
                # stays within its own interval, so no second ever holds more than the rate.
                continue
            # Whoever is most urgent now takes it: a reply that came during the wait included.
            if self._pending():
                heapq.heappop(self._waiters)[2].set_result(None)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@dataclass(frozen=True)
class FloodWait:
    """An answer of 429, as recorded."""

    method: str
    chat_id: int | None
    retry_after: float
    bulk: bool


class SendBudget(BaseRateLimiter[dict[str, Any]]):
    """python-telegram-bot's rate limiter for every request of the bot (module docstring).

    The outgoing queue marks its sends with ``rate_limit_args={"bulk": True}``; everything
    else is a reply to a person."""

    def __init__(
        self,
        per_second: float = 29.0,
        *,
        max_retries: int = 4,
        longest_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        chats: ChatPace | None = None,
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.max_retries = max_retries
        self.longest_wait = longest_wait
        self.local = LocalTimeline(per_second, clock)
        self.timeline: LocalTimeline | SharedTimeline = self.local
        self.chats = chats or ChatPace(clock)
        self._slots = _Slots(self.timeline)
        self._sent: deque[tuple[float, int]] = deque()
        # When this process's last sends started: never more than the rate in any second,
        # however late the slots were used (a busy event loop).
        self._window: deque[float] = deque()
        self._window_size = max(1, int(per_second))
        self.flood_waits: deque[tuple[float, FloodWait]] = deque(maxlen=1000)
        # How long replies waited here (seconds), the latest few thousand.
        self.reply_waits: deque[float] = deque(maxlen=5000)
        #: called with each 429 (the sender records it in the database)
        self.on_flood: Callable[[FloodWait], None] | None = None

    async def share_through(self, db: Database, bot_id: str, *, processes: int = 1) -> None:
        """Take the slots from the database (PostgreSQL), shared by every process of this bot.
        Should the database not answer, a process paces alone at 1/``processes`` of the rate."""
        if db.engine.dialect.name != "postgresql":
            return
        fallback = LocalTimeline(self.per_second / max(1, processes), self.clock)
        shared = SharedTimeline(db, bot_id, self.per_second, fallback)
        await shared.prepare()
        self.timeline = shared
        self._slots.timeline = shared

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        await self._slots.stop()
        if self.reply_waits:
            # Logged once: python-telegram-bot may shut the bot down more than once.
            waits = sorted(self.reply_waits)
            self.reply_waits.clear()
            log.info(
                "send budget: %d replies waited for their slot %.0f ms at the median, %.0f ms at the 95th "
                "percentile, %.0f ms at most",
                len(waits),
                waits[len(waits) // 2] * 1000,
                waits[int(0.95 * (len(waits) - 1))] * 1000,
                waits[-1] * 1000,
            )

    # --- what the budget has done ----------------------------------------------------------

    def _trim(self) -> None:
        horizon = self.clock() - 60
        while self._sent and self._sent[0][0] < horizon:
            self._sent.popleft()

    def rates(self) -> tuple[float, float]:
        """Messages a second over the last minute: all, and the replies among them."""
        self._trim()
        replies = sum(1 for _, priority in self._sent if priority == PERSON)
        return len(self._sent) / 60, replies / 60

    def floods_last_hour(self) -> int:
        horizon = self.clock() - 3600
        return sum(1 for at, _ in self.flood_waits if at >= horizon)

    # --- the hook --------------------------------------------------------------------------

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint not in COUNTED:
            return await callback(*args, **kwargs)
        priority = BULK if rate_limit_args and rate_limit_args.get("bulk") else PERSON
        chat = data.get("chat_id")
        attempt = 0
        while True:
            asked = self.clock()
            await self._acquire(priority, chat)
            await self._within_window()
            if priority == PERSON:
                self.reply_waits.append(self.clock() - asked)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_seconds(exc.retry_after)
                await self._flooded(endpoint, chat, wait, priority)
                attempt += 1
                if attempt > self.max_retries or wait > self.longest_wait:
                    raise
                continue
            self._sent.append((self.clock(), priority))
            if len(self._sent) > 4096:
                self._trim()
            return result

    async def _within_window(self) -> None:
        while len(self._window) >= self._window_size:
            wait = self._window[0] + 1.0 - self.clock()
            if wait <= 0:
                self._window.popleft()
                continue
            await asyncio.sleep(wait)
        self._window.append(self.clock())

    async def chat_ready(self, chat: object, priority: int = BULK) -> None:
        """Wait until a message may go to this chat (its pace, a 429's hold), without taking
        a slot: a sender waits here before it takes anything else that others need."""
        wait = self.chats.wait(chat, priority)
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.chats.wait(chat, priority)

    async def _acquire(self, priority: int, chat: object) -> None:
        while True:
            if chat is not None:
                await self.chat_ready(chat, priority)
            await self._slots.take(priority)
            # A 429 may have held the chat while this waited for its slot.
            if chat is None or self.chats.wait(chat, priority) <= 0:
                if chat is not None:
                    self.chats.sent(chat)
                return

    async def _flooded(self, endpoint: str, chat: object, wait: float, priority: int) -> None:
        if chat is not None:
            self.chats.hold(chat, wait)
        factor = await self.timeline.slow_down()
        if self.timeline is not self.local:
            await self.local.slow_down()
        what = "a queued message" if priority == BULK else "a reply"
        log.warning(
            "Telegram answered 429 (retry after %.0f s) to %s for chat %s (%s): that chat waits %.0f s, "
            "the others go on; sending slowed to %.1f messages a second for %.0f s",
            wait,
            endpoint,
            chat,
            what,
            wait,
            self.per_second / factor,
            SLOW_FOR,
        )
        flood = FloodWait(endpoint, chat if isinstance(chat, int) else None, wait, priority == BULK)
        self.flood_waits.append((self.clock(), flood))
        if self.on_flood is not None:
            self.on_flood(flood)
