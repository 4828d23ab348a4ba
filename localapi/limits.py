"""Telegram's limits, and the flood control that strict mode enforces.

The local server checks every request against the limits below.  In strict mode
(``LocalBotApi(strict=True)``) a request that breaks one is refused exactly as Telegram
refuses it: the same HTTP status and ``{"ok": false, "error_code": ..., "description":
...}``.  Otherwise it goes through and the description is recorded on the call
(``BotApiCall.violation``, ``LocalBotApi.violations``), so a lenient run still shows what
Telegram would have refused.

Content (400 ``Bad Request: ...``):

* ``parse_mode`` text must parse (:mod:`localapi.formatting`, TDLib's parser and its
  messages): ``can't parse entities: Unsupported start tag "div" at byte offset 0``, ...;
  strict mode also refuses a bare ``&`` in HTML (the documented rule; see
  :mod:`localapi.formatting`).  A lenient run delivers such a text as it was sent.
* message text: 1 to 4,096 characters after entity parsing and Telegram's clean-up
  (trimmed, ``\\r`` dropped), counted in UTF-16 code units (an emoji outside the Basic
  Multilingual Plane counts 2): ``message is too long``; a text that is empty after
  parsing (``<b> </b>``) is ``message text is empty`` in either mode.
* captions: 0 to 1,024 such characters: ``message caption is too long``.
* ``answerCallbackQuery`` text: 0 to 200 characters (UTF-16 code units): ``MESSAGE_TOO_LONG``.
* inline keyboard ``callback_data``: 1 to 64 bytes in UTF-8: ``BUTTON_DATA_INVALID``.
* inline keyboard ``copy_text``: a ``CopyTextButton`` whose ``text`` is 1 to 256
  characters (the Bot API's documented limit; the description, ``BUTTON_COPY_TEXT_INVALID``,
  is this server's, in the style of the one above).

Flood control (429 ``Too Many Requests: retry after N``, ``parameters.retry_after`` N).
A *message* is every call that puts or changes a message in a chat: ``sendMessage``,
``sendDocument``, ``sendPhoto``, ``editMessageText``, ``editMessageCaption``,
``editMessageReplyMarkup``.  ``answerCallbackQuery``, ``sendChatAction``,
``deleteMessage`` and the getters and setters are not messages and never count.

* per chat: a bucket of ``per_chat_burst`` (10) messages that refills at
  ``per_chat_per_second`` (1) a second, i.e. a short burst of 10, then one a second
  (Telegram: "avoid sending more than one message per second in a particular chat. We may
  allow short bursts that go over this limit"; a person's tap answered with an edit and a
  message is such a burst);
* overall: at most ``overall_per_second`` (30) messages in any one second, over all
  chats (a sliding window; no burst above it).

A message over either limit is refused with N = the whole seconds (rounded up, at least 1)
until it would pass both; a refused message does not count.  The check comes after the
request's other checks (a malformed message is a 400 even when it is also too fast), as
Telegram checks the content before it sends.  Either limit can be turned off with
``None``, e.g. for a test about something else that sends many messages to one chat.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable

from localapi.formatting import utf16_len

__all__ = [
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_DOWNLOAD_SIZE",
    "MAX_INLINE_BUTTONS",
    "MAX_TEXT_LENGTH",
    "MAX_UPLOAD_SIZE",
    "FloodControl",
    "callback_data_valid",
    "copy_text_valid",
    "too_long",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile limit for bots
MAX_UPLOAD_SIZE = 50 * 1024 * 1024  # sendDocument limit for bots

TEXT_TOO_LONG = "message is too long"
CAPTION_TOO_LONG = "message caption is too long"
TEXT_EMPTY = "message text is empty"
CALLBACK_ANSWER_TOO_LONG = "MESSAGE_TOO_LONG"
BUTTON_DATA_INVALID = "BUTTON_DATA_INVALID"
MAX_COPY_TEXT_LENGTH = 256
BUTTON_COPY_TEXT_INVALID = "BUTTON_COPY_TEXT_INVALID"


def too_long(text: str, limit: int) -> bool:
    """Whether ``text`` (already parsed and cleaned) is over ``limit`` UTF-16 code units."""
    return utf16_len(text) > limit


def callback_data_valid(data: object) -> bool:
    """Telegram's rule for ``callback_data``: a string of 1 to 64 bytes in UTF-8."""
    return isinstance(data, str) and 1 <= len(data.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_DATA_BYTES


def copy_text_valid(button: object) -> bool:
    """The Bot API's rule for ``copy_text``: a CopyTextButton with a text of 1 to 256 characters."""
    if not isinstance(button, dict):
        return False
    text = button.get("text")
    return isinstance(text, str) and 1 <= len(text) <= MAX_COPY_TEXT_LENGTH


class _Window:
    """At most ``capacity`` events in any ``span`` seconds (a sliding window)."""

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("rate must be positive")
        self.capacity = max(1, int(per_second))
        self.span = self.capacity / per_second
        self._stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self._stamps and self._stamps[0] <= now - self.span:
            self._stamps.popleft()
        if len(self._stamps) >= self.capacity:
            return self._stamps[-self.capacity] + self.span - now
        return 0.0

    def add(self, now: float) -> None:
        self._stamps.append(now)


class _Bucket:
    """A token bucket: ``burst`` tokens, refilled at ``per_second``; one token a message."""

    __slots__ = ("burst", "per_second", "stamp", "tokens")

    def __init__(self, per_second: float, burst: int, now: float) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
            self.stamp = now

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_second

    def add(self, now: float) -> None:
        self._refill(now)
        self.tokens = max(self.tokens - 1, 0.0)


class FloodControl:
    """Telegram's flood limits on the messages a bot sends (the rules: module docstring)."""

    def __init__(
        self,
        *,
        overall_per_second: float | None = 30.0,
        per_chat_per_second: float | None = 1.0,
        per_chat_burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_chat_per_second is not None and per_chat_per_second <= 0:
            raise ValueError("per_chat_per_second must be positive (or None for no limit)")
        if per_chat_burst < 1:
            raise ValueError("per_chat_burst must be at least 1")
        self.overall_per_second = overall_per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_chat_burst = per_chat_burst
        self.clock = clock
        self._overall = _Window(overall_per_second) if overall_per_second is not None else None
        self._chats: dict[Hashable, _Bucket] = {}

    def retry_after(self, chat: Hashable) -> int | None:
        """Seconds to wait before a message to ``chat`` passes, or None if it passes now."""
        now = self.clock()
        wait = self._overall.wait(now) if self._overall is not None else 0.0
        bucket = self._bucket(chat, now)
        if bucket is not None:
            wait = max(wait, bucket.wait(now))
        if wait <= 0:
            return None
        return max(1, math.ceil(wait - 1e-9))

    def count(self, chat: Hashable) -> None:
        """Count one message sent to ``chat``."""
        now = self.clock()
        if self._overall is not None:
            self._overall.add(now)
        bucket = self._bucket(chat, now)
        if bucket is not None:
            bucket.add(now)

    def _bucket(self, chat: Hashable, now: float) -> _Bucket | None:
        if self.per_chat_per_second is None:
            return None
        bucket = self._chats.get(chat)
        if bucket is None:
            bucket = self._chats[chat] = _Bucket(self.per_chat_per_second, self.per_chat_burst, now)
        return bucket
