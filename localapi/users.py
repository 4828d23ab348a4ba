"""Simulated Telegram users talking to the bot through :class:`LocalBotApi`.

A :class:`SimUser` is a person in a private chat with the bot.  It lives in the
same event loop as the server: sending a message or pressing a button pushes an
update that the bot receives through ``getUpdates`` (or its webhook), and every
message the bot sends, edits or deletes in the chat is recorded here so tests can
wait for it.  All waiting is event driven and always bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localapi.formatting import utf16_len

if TYPE_CHECKING:  # pragma: no cover
    from localapi.server import LocalBotApi

__all__ = ["SimMessage", "SimUser"]

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


class _Signal:
    """Wakes up coroutines waiting for some state to change.

    ``notify`` is synchronous so it can be called from plain methods; waiters
    re-check their predicate after each notification (level triggered), so no
    wake-up can be lost between a check and the wait.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``predicate()`` is true; return False if ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            event = self._event
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


@dataclass(frozen=True, repr=False)
class SimMessage:
    """A snapshot of one message in a simulated private chat.

    Snapshots never change; ``SimUser.messages()`` and ``SimUser.message(id)``
    return the current state.  Snapshots compare equal when all fields are equal
    (they are not hashable).
    """

    __hash__ = None  # type: ignore[assignment]

    message_id: int
    chat_id: int
    text: str | None
    html: str | None
    date: int
    edited: bool
    reply_markup: dict | None
    document: dict | None
    photo: list[dict] | None
    file_bytes: bytes | None
    caption: str | None
    reply_to_message_id: int | None
    entities: list[dict] = field(default_factory=list)
    from_bot: bool = True
    deleted: bool = False
    edit_date: int | None = None
    raw: dict = field(default_factory=dict)  # the Message object as the Bot API returns it

    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as ``(text, callback_data or url)`` tuples."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [
                (
                    button.get("text", ""),
                    button.get("callback_data", button.get("url")),
                )
                for button in row
            ]
            for row in rows
        ]

    def button_texts(self) -> list[str]:
        return [text for row in self.buttons() for text, _ in row]

    def copy_texts(self) -> list[str]:
        """What the message offers to copy with one tap, as a Telegram client does: the text
        of each copy-text button, then of each code block (``<code>``, ``<pre>``)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        found = [b["copy_text"]["text"] for row in rows for b in row if isinstance(b.get("copy_text"), dict)]
        content = self.content.encode("utf-16-le", "surrogatepass")
        for entity in self.entities:
            if entity.get("type") in ("code", "pre"):
                start, length = 2 * entity["offset"], 2 * entity["length"]
                found.append(content[start : start + length].decode("utf-16-le", "surrogatepass"))
        return found

    @property
    def content(self) -> str:
        """The text, or the caption of a media message ("" when there is neither)."""
        return self.text if self.text is not None else (self.caption or "")

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else "user"
        parts = [f"#{self.message_id} {who}"]
        body = self.content
        if body:
            short = body if len(body) <= 60 else body[:57] + "..."
            parts.append(repr(short))
        if self.document:
            parts.append(f"document={self.document.get('file_name')!r}")
        if self.photo:
            parts.append("photo")
        texts = self.button_texts()
        if texts:
            parts.append("[" + " | ".join(texts) + "]")
        if self.edited:
            parts.append("(edited)")
        if self.deleted:
            parts.append("(deleted)")
        return "SimMessage(" + " ".join(parts) + ")"


class _Record:
    """Server-side state of a message: the Bot API object plus local extras."""

    __slots__ = ("data", "deleted", "file_bytes", "from_bot", "html")

    def __init__(self, data: dict, *, from_bot: bool, html: str | None = None, file_bytes: bytes | None = None):
        self.data = data
        self.from_bot = from_bot
        self.html = html
        self.file_bytes = file_bytes
        self.deleted = False

    def snapshot(self) -> SimMessage:
        d = self.data
        reply = d.get("reply_to_message")
        return SimMessage(
            message_id=d["message_id"],
            chat_id=d["chat"]["id"],
            text=d.get("text"),
            html=self.html,
            date=d["date"],
            edited="edit_date" in d,
            reply_markup=d.get("reply_markup"),
            document=d.get("document"),
            photo=d.get("photo"),
            file_bytes=self.file_bytes,
            caption=d.get("caption"),
            reply_to_message_id=reply["message_id"] if reply else None,
            entities=list(d.get("entities") or d.get("caption_entities") or []),
            from_bot=self.from_bot,
            deleted=self.deleted,
            edit_date=d.get("edit_date"),
            raw=d,
        )


@dataclass(frozen=True)
class _Event:
    index: int
    message_id: int
    snapshot: SimMessage
    is_edit: bool


class SimUser:
    """A simulated human in a private chat with the bot.

    Obtain instances with :meth:`LocalBotApi.user`; the same id always gives the
    same object.
    """

    def __init__(
        self,
        server: LocalBotApi,
        user_id: int,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> None:
        self._server = server
        self.id = user_id
        self.chat_id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        #: True once the user has written to the bot (before that the bot can't message them)
        self.started = False
        #: True while the user has blocked the bot
        self.blocked = False
        #: answerCallbackQuery payloads for this user's button presses, in order
        self.callback_answers: list[dict] = []
        #: actions sent with sendChatAction, in order
        self.chat_actions: list[str] = []
        #: the reply keyboard the bot currently shows to this user, if any
        self.keyboard: dict | None = None

        self._records: dict[int, _Record] = {}
        self._last_message_id = 0
        self._bot_ids: list[int] = []  # bot messages in the order they were sent
        self._bot_pos: dict[int, int] = {}
        self._events: list[_Event] = []  # new bot messages and edits, in order
        self._consumed: set[int] = set()  # event indexes already handed out
        self._floor = 0  # events before this index were consumed
        self._cursor = 0  # next index into _bot_ids for next_message()
        self._pressed: list[str] = []  # callback query ids, in order
        self._signal = _Signal()

    # ------------------------------------------------------------------ identity

    def user_dict(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_dict(self) -> dict:
        data: dict[str, Any] = {"id": self.chat_id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    @property
    def _chat_instance(self) -> str:
        return str((self.chat_id * 2654435761 + (self._server.bot_id or 0)) % 10**19)

    def __repr__(self) -> str:
        return f"SimUser(id={self.id}, first_name={self.first_name!r})"

    # ------------------------------------------------------------------ acting

    async def send(self, text: str, *, reply_to: SimMessage | int | None = None) -> SimMessage:
        """Send a text message to the bot; a leading ``/command`` gets a bot_command entity."""
        self._check_can_write()
        if not text or not text.strip():
            raise ValueError("Telegram clients don't send empty messages")
        data = self._new_user_message(reply_to)
        data["text"] = text
        match = _COMMAND_RE.match(text)
        if match:
            data["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]
        return self._deliver(data)

    async def send_document(
        self,
        data: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        reply_to: SimMessage | int | None = None,
    ) -> SimMessage:
        """Upload a file as a document message."""
        self._check_can_write()
        if not data:
            raise ValueError("Telegram clients don't send empty files")
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self._server._store_file(bytes(data), file_name=file_name, mime_type=mime, kind="document")
        message = self._new_user_message(reply_to)
        message["document"] = stored.document_dict()
        if caption:
            message["caption"] = caption
        return self._deliver(message, file_bytes=stored.data)

    async def send_photo(
        self,
        data: bytes,
        *,
        caption: str | None = None,
        width: int = 0,
        height: int = 0,
        reply_to: SimMessage | int | None = None,
    ) -> SimMessage:
        """Send a picture as a photo message (a single size, the original bytes)."""
        self._check_can_write()
        if not data:
            raise ValueError("Telegram clients don't send empty files")
        mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        stored = self._server._store_file(
            bytes(data), file_name=None, mime_type=mime, kind="photo", width=width, height=height
        )
        message = self._new_user_message(reply_to)
        message["photo"] = stored.photo_sizes()
        if caption:
            message["caption"] = caption
        return self._deliver(message, file_bytes=stored.data)

    async def press(self, message: SimMessage | int, button: str) -> str:
        """Press an inline button and return the callback query id.

        The button is the first whose text equals ``button``, else whose
        callback_data equals it, else whose text contains it.
        """
        message_id = self._own_message_id(message)
        record = self._records.get(message_id)
        if record is None or record.deleted:
            raise LookupError(f"message #{message_id} does not exist in chat {self.chat_id}")
        rows = (record.data.get("reply_markup") or {}).get("inline_keyboard") or []
        candidates = [b for row in rows for b in row]
        chosen = (
            next((b for b in candidates if b.get("text") == button), None)
            or next((b for b in candidates if b.get("callback_data") == button), None)
            or next((b for b in candidates if button in b.get("text", "")), None)
        )
        if chosen is None:
            texts = [b.get("text") for b in candidates]
            raise LookupError(f"no button matching {button!r} on {record.snapshot()!r}; buttons: {texts}")
        if "callback_data" not in chosen:
            kind = next((k for k in chosen if k != "text"), "unknown")
            raise LookupError(f"button {chosen.get('text')!r} is a {kind} button, not a callback button")
        self._check_can_write()
        query_id = self._server._new_callback_query(self)
        self._pressed.append(query_id)
        self._server._push_update(
            "callback_query",
            {
                "id": query_id,
                "from": self.user_dict(),
                "message": record.data,
                "chat_instance": self._chat_instance,
                "data": chosen["callback_data"],
            },
        )
        return query_id

    def block(self) -> None:
        """The user blocks the bot: the bot's further messages fail with 403."""
        if not self.blocked:
            self.blocked = True
            self._push_membership("member", "kicked")

    def unblock(self) -> None:
        if self.blocked:
            self.blocked = False
            self._push_membership("kicked", "member")

    # ------------------------------------------------------------------ observing

    def messages(self) -> list[SimMessage]:
        """The bot's messages in this chat, in order, in their current state."""
        return [self._records[mid].snapshot() for mid in self._bot_ids if not self._records[mid].deleted]

    def history(self) -> list[SimMessage]:
        """All messages in this chat (the user's and the bot's), current state, in order."""
        return [rec.snapshot() for _, rec in sorted(self._records.items()) if not rec.deleted]

    def message(self, message_id: int) -> SimMessage:
        """The current state of a message of this chat."""
        try:
            return self._records[message_id].snapshot()
        except KeyError:
            raise LookupError(f"message #{message_id} does not exist in chat {self.chat_id}") from None

    def visible_commands(self) -> list[dict]:
        """The command list this user sees in the menu (Telegram's scope resolution)."""
        commands = self._server.commands
        keys = [f"chat:{self.chat_id}", "all_private_chats", "default"]
        for key in keys:
            for candidate in ([f"{key}/{self.language_code}"] if self.language_code else []) + [key]:
                if commands.get(candidate):
                    return list(commands[candidate])
        return []

    async def next_message(self, timeout: float = 10.0) -> SimMessage:
        """The next new bot message not yet returned (edits don't count), current state."""

        def available() -> bool:
            return self._cursor < len(self._bot_ids)

        if not await self._signal.wait_until(available, timeout):
            raise TimeoutError(self._timeout_report("next_message()", timeout))
        message_id = self._bot_ids[self._cursor]
        self._cursor += 1
        for event in self._events[self._floor :]:
            if event.message_id == message_id:
                self._consumed.add(event.index)
                if not event.is_edit:
                    self._floor = max(self._floor, event.index + 1)
        return self._records[message_id].snapshot()

    async def wait_for(
        self,
        predicate: Callable[[SimMessage], bool] | str,
        *,
        timeout: float = 10.0,
        include_edits: bool = True,
    ) -> SimMessage:
        """Wait for a bot message (new, or edited if ``include_edits``) that matches.

        Messages and edits already consumed by ``next_message``/``wait_for``/``drain``
        are not considered.  A string predicate means "text or caption contains".
        Returns the matching snapshot and moves the ``next_message`` cursor past it.
        """
        matches: Callable[[SimMessage], bool]
        if isinstance(predicate, str):
            needle = predicate

            def contains(message: SimMessage) -> bool:
                return needle in message.content

            matches = contains
            description = f"wait_for({needle!r})"
        else:
            matches = predicate
            description = f"wait_for({getattr(predicate, '__name__', 'predicate')})"

        scanned = self._floor
        found: list[_Event] = []

        def check() -> bool:
            nonlocal scanned
            while scanned < len(self._events):
                event = self._events[scanned]
                scanned += 1
                if event.index in self._consumed or (event.is_edit and not include_edits):
                    continue
                if matches(event.snapshot):
                    found.append(event)
                    return True
            return False

        if not await self._signal.wait_until(check, timeout):
            raise TimeoutError(self._timeout_report(description, timeout))
        event = found[0]
        self._consumed.update(range(self._floor, event.index + 1))
        self._floor = event.index + 1
        self._cursor = max(self._cursor, self._bot_pos[event.message_id] + 1)
        return event.snapshot

    async def drain(self, quiet: float = 0.3, *, timeout: float = 10.0) -> list[SimMessage]:
        """Wait until the bot is quiet for ``quiet`` seconds (at most ``timeout``).

        Returns the new messages not yet returned by ``next_message`` (current
        state) and marks everything so far as consumed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            seen = len(self._events)

            def moved(seen: int = seen) -> bool:
                return len(self._events) != seen

            changed = await self._signal.wait_until(moved, min(quiet, remaining))
            if not changed:
                break
        new = [self._records[mid].snapshot() for mid in self._bot_ids[self._cursor :]]
        self._cursor = len(self._bot_ids)
        self._consumed.update(range(self._floor, len(self._events)))
        self._floor = len(self._events)
        return new

    async def wait_callback_answer(self, query_id: str | None = None, *, timeout: float = 10.0) -> dict:
        """Wait for the bot's answerCallbackQuery to a press (default: the latest one)."""
        if query_id is None:
            if not self._pressed:
                raise LookupError(f"{self!r} has not pressed any button")
            query_id = self._pressed[-1]

        def answered() -> bool:
            return any(a["callback_query_id"] == query_id for a in self.callback_answers)

        if not await self._signal.wait_until(answered, timeout):
            raise TimeoutError(self._timeout_report(f"callback query {query_id} was not answered;", timeout))
        return next(a for a in self.callback_answers if a["callback_query_id"] == query_id)

    # ------------------------------------------------------------------ internals used by the server

    def _next_message_id(self) -> int:
        self._last_message_id += 1
        return self._last_message_id

    def _own_message_id(self, message: SimMessage | int) -> int:
        if isinstance(message, SimMessage):
            if message.chat_id != self.chat_id:
                raise ValueError(f"{message!r} belongs to chat {message.chat_id}, not to {self!r}")
            return message.message_id
        return int(message)

    def _check_can_write(self) -> None:
        if self.blocked:
            raise RuntimeError(f"{self!r} has blocked the bot; call unblock() first")

    def _new_user_message(self, reply_to: SimMessage | int | None) -> dict:
        data: dict[str, Any] = {
            "message_id": self._next_message_id(),
            "from": self.user_dict(),
            "chat": self.chat_dict(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            target_id = self._own_message_id(reply_to)
            target = self._records.get(target_id)
            if target is None or target.deleted:
                raise LookupError(f"message #{target_id} does not exist in chat {self.chat_id}")
            data["reply_to_message"] = _without_reply(target.data)
        return data

    def _deliver(self, data: dict, *, file_bytes: bytes | None = None) -> SimMessage:
        self.started = True
        record = _Record(data, from_bot=False, file_bytes=file_bytes)
        self._records[data["message_id"]] = record
        self._server._push_update("message", data)
        return record.snapshot()

    def _add_bot_message(self, record: _Record) -> None:
        message_id = record.data["message_id"]
        self._records[message_id] = record
        self._bot_pos[message_id] = len(self._bot_ids)
        self._bot_ids.append(message_id)
        self._events.append(_Event(len(self._events), message_id, record.snapshot(), False))
        self._signal.notify()

    def _replace(self, message_id: int, data: dict, *, html: str | None) -> None:
        record = self._records[message_id]
        record.data = data
        record.html = html
        if record.from_bot:
            self._events.append(_Event(len(self._events), message_id, record.snapshot(), True))
        self._signal.notify()

    def _delete(self, message_id: int) -> None:
        self._records[message_id].deleted = True
        self._signal.notify()

    def _push_membership(self, old: str, new: str) -> None:
        bot = self._server._bot_user()
        new_member: dict[str, Any] = {"user": bot, "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: dict[str, Any] = {"user": bot, "status": old}
        if old == "kicked":
            old_member["until_date"] = 0
        self._server._push_update(
            "my_chat_member",
            {
                "chat": self.chat_dict(),
                "from": self.user_dict(),
                "date": int(time.time()),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )

    def _timeout_report(self, what: str, timeout: float) -> str:
        lines = [f"{what} nothing matching from the bot within {timeout:g}s in chat {self.chat_id}"]
        recent = [self._records[mid].snapshot() for mid in self._bot_ids[-3:]]
        lines.append("last bot messages: " + (", ".join(repr(m) for m in recent) if recent else "none"))
        if self._cursor < len(self._bot_ids):
            lines.append(f"{len(self._bot_ids) - self._cursor} message(s) not yet returned by next_message()")
        failures = self._server._recent_failures(5)
        if failures:
            lines.append(
                "recent failed Bot API calls: "
                + "; ".join(f"{c.method} -> {c.status} {c.description}" for c in failures)
            )
        return "\n  ".join(lines)


def _without_reply(data: dict) -> dict:
    """A message as embedded in reply_to_message (Telegram doesn't nest replies further)."""
    if "reply_to_message" not in data:
        return data
    return {k: v for k, v in data.items() if k != "reply_to_message"}
