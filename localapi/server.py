"""A local, in-process implementation of the Telegram Bot API over real HTTP.

``LocalBotApi`` serves the subset of the Bot API that Clausebot uses, on
loopback, with Telegram's request encoding, response format, validation rules and
error messages, so that python-telegram-bot (or any other client) can be pointed
at it with ``base_url``/``base_file_url`` and cannot tell the difference.  Test
code plays the human side through :class:`~localapi.users.SimUser` objects.

Nothing here talks to the internet: files given by URL are refused and webhooks
are only delivered to loopback or private addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import ipaddress
import json
import math
import mimetypes
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from localapi.formatting import EntityParseError, parse_text, utf16_len
from localapi.users import SimUser, _Record, _Signal, _without_reply

__all__ = ["METHODS", "ApiError", "BotApiCall", "LocalBotApi", "StoredFile"]

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile limit for bots
MAX_UPLOAD_SIZE = 50 * 1024 * 1024  # sendDocument limit for bots

# Parameters that clients send JSON-encoded (PTB encodes every non-string value).
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "scope",
        "commands",
        "entities",
        "caption_entities",
        "allowed_updates",
        "reply_parameters",
        "link_preview_options",
        "menu_button",
        "media",
        "message_ids",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "message_thread_id",
        "user_id",
        "from_chat_id",
    }
)
BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Inline button kinds other than callback_data/url that need no validation here.
_OTHER_BUTTON_KINDS = (
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "login_url",
    "copy_text",
)

_BLOCKED = "Forbidden: bot was blocked by the user"
_CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
_TEXT_BUTTONS = "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass
class BotApiCall:
    """One Bot API method call made by the bot.

    ``at`` is the wall-clock time (``time.time()``) the request arrived; ``status``
    is the HTTP status of the answer (0 while a long poll is still pending) and
    ``description`` Telegram's error description for failed calls.
    """

    method: str
    params: dict
    at: float
    status: int = 0
    description: str | None = None


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        data: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


@dataclass
class _Upload:
    file_name: str
    data: bytes
    mime_type: str | None


@dataclass
class StoredFile:
    """A file known to the server (uploaded by the bot or by a simulated user)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_name: str | None
    mime_type: str | None
    kind: str  # "document" or "photo"
    width: int = 0
    height: int = 0
    file_path: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)

    def document_dict(self) -> dict:
        data: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        data["file_size"] = self.file_size
        return data

    def photo_sizes(self) -> list[dict]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.file_size,
            }
        ]


class _Window:
    """Sliding-window rate limiter: at most ``capacity`` events per ``span`` seconds."""

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("rate must be positive")
        if per_second >= 1:
            self.capacity, self.span = int(per_second), 1.0
        else:
            self.capacity, self.span = 1, 1.0 / per_second
        self._stamps: deque[float] = deque()

    def wait_time(self, now: float) -> float | None:
        while self._stamps and self._stamps[0] <= now - self.span:
            self._stamps.popleft()
        if len(self._stamps) >= self.capacity:
            return self._stamps[0] + self.span - now
        return None

    def add(self, now: float) -> None:
        self._stamps.append(now)


_Handler = Callable[["LocalBotApi", dict, dict], Awaitable[Any]]
_METHODS: dict[str, tuple[str, _Handler, bool]] = {}


def _api(name: str, *, sends: bool = False) -> Callable[[_Handler], _Handler]:
    """Register a Bot API method; ``sends`` marks methods subject to flood limits."""

    def register(handler: _Handler) -> _Handler:
        _METHODS[name.lower()] = (name, handler, sends)
        return handler

    return register


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class LocalBotApi:
    """A local Telegram Bot API server for tests, demos and benchmarks."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "clausebot_local_bot",
        bot_first_name: str = "Clausebot",
        rate_limit: bool = False,
        overall_per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.rate_limit = rate_limit
        self.overall_per_second = overall_per_second
        self.per_chat_per_second = per_chat_per_second
        #: the bot's user id, learned from the token of the first request
        self.bot_id: int | None = None

        #: every Bot API method call the bot made, in arrival order
        self.calls: list[BotApiCall] = []
        #: last setMyCommands per scope key ("default", "all_private_chats", "chat:<id>",
        #: with "/<language_code>" appended for language-specific lists)
        self.commands: dict[str, list[dict]] = {}
        #: setChatMenuButton per key ("default" or "chat:<id>")
        self.menu_buttons: dict[str, dict] = {}
        #: setMyName/setMyDescription/setMyShortDescription values per "field" or "field/<lang>"
        self.profile: dict[str, str] = {}
        #: the current webhook ({"url", "secret_token", ...}) or None when polling
        self.webhook: dict | None = None
        #: counters: "sent" (accepted sending calls), "rejected_429" (flood-limited calls)
        self.stats: dict[str, int] = {"sent": 0, "rejected_429": 0}

        self._users: dict[int, SimUser] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_paths = 0
        self._callback_queries: dict[str, dict] = {}
        self._updates: list[dict] = []
        self.update_log: list[dict] = []  # every update ever pushed, for tests that replay them
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._updates_signal = _Signal()
        self._poll_generation = 0
        self._closing = False
        self._injected: dict[str, list[ApiError]] = {}
        #: seconds to wait before answering a method, by lower-case method name (a slow network)
        self.delays: dict[str, float] = {}
        self._overall_window = _Window(overall_per_second)
        self._chat_windows: dict[Any, _Window] = {}
        self._webhook_task: asyncio.Task | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind and start serving; with ``port=0`` a free port is chosen."""
        if self._runner is not None:
            raise RuntimeError("LocalBotApi is already running")
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_post("/_sim/users/{user_id}/send", self._handle_sim_send)
        app.router.add_post("/_sim/users/{user_id}/press", self._handle_sim_press)
        app.router.add_get("/_sim/users/{user_id}/messages", self._handle_sim_messages)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered with an empty result first."""
        if self._runner is None:
            return
        self._closing = True
        self._updates_signal.notify()
        await self._stop_webhook_delivery()
        runner, self._runner = self._runner, None
        # let woken pollers write their answers before connections are closed
        await asyncio.sleep(0)
        await runner.cleanup()

    async def __aenter__(self) -> LocalBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The API root, e.g. ``http://127.0.0.1:8081``; the bot adds ``/bot<token>/<method>``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url``."""
        return f"{self.url}/file/bot"

    # ------------------------------------------------------------------ test-facing API

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimUser:
        """The simulated user with this id (created on first use, then always the same object)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive integers")
        user = SimUser(self, user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        return user

    @property
    def users(self) -> list[SimUser]:
        return list(self._users.values())

    def calls_of(self, method: str) -> list[BotApiCall]:
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def file(self, file_id: str) -> StoredFile:
        """A stored file by id (raises LookupError)."""
        try:
            return self._files[file_id]
        except KeyError:
            raise LookupError(f"unknown file_id {file_id!r}") from None

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot."""
        return list(self._updates)

    def inject_error(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with the given error.

        Useful to test how the bot copes with e.g. 502s or flood waits.
        """
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        queue = self._injected.setdefault(method.lower(), [])
        queue.extend(ApiError(error_code, description, parameters) for _ in range(times))

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not TOKEN_RE.match(token):
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        if self.bot_id is None:
            self.bot_id = int(token.split(":", 1)[0])
        requested = request.match_info["method"]
        entry = _METHODS.get(requested.lower())
        method_name = entry[0] if entry else requested
        call = BotApiCall(method=method_name, params={}, at=time.time())
        self.calls.append(call)
        try:
            params, files = await self._read_params(request)
            call.params = dict(params)
            for name, upload in files.items():
                call.params[name] = f"<file {upload.file_name!r}, {len(upload.data)} bytes>"
            if entry is None:
                raise ApiError(404, "Not Found")
            _, handler, sends = entry
            injected = self._injected.get(method_name.lower())
            if injected:
                raise injected.pop(0)
            if sends and self.rate_limit:
                self._check_flood(params.get("chat_id"))
            delay = self.delays.get(method_name.lower())
            if delay:
                await asyncio.sleep(delay)
            try:
                result = await handler(self, params, files)
            except asyncio.CancelledError:
                call.description = "request cancelled (client disconnected)"
                raise
            if sends:
                self.stats["sent"] += 1
                if self.rate_limit:
                    self._record_flood(params.get("chat_id"))
        except ApiError as exc:
            call.status = exc.code
            call.description = exc.description
            return _json_response(exc.payload(), exc.code)
        call.status = 200
        return _json_response({"ok": True, "result": result}, 200)

    async def _read_params(self, request: web.Request) -> tuple[dict, dict[str, _Upload]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = json.loads(await request.read() or b"{}")
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON object")
                raw.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        with value.file:
                            data = value.file.read()
                        files[name] = _Upload(value.filename or name, data, value.content_type)
                    else:
                        raw[name] = value
        return {name: _decode_param(name, value) for name, value in raw.items()}, files

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if not TOKEN_RE.match(request.match_info["token"]):
            return _json_response(ApiError(401, "Unauthorized").payload(), 401)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return _json_response(ApiError(404, "Not Found").payload(), 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    # ------------------------------------------------------------------ updates

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

    def _new_callback_query(self, user: SimUser) -> str:
        query_id = str(secrets.randbits(63))
        self._callback_queries[query_id] = {"user": user, "answered": False}
        return query_id

    def _recent_failures(self, count: int) -> list[BotApiCall]:
        failures = [c for c in self.calls if c.status >= 400]
        return failures[-count:]

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id or 0,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ------------------------------------------------------------------ flood control

    def _chat_window(self, chat_id: Any) -> _Window:
        window = self._chat_windows.get(chat_id)
        if window is None:
            window = self._chat_windows[chat_id] = _Window(self.per_chat_per_second)
        return window

    def _check_flood(self, chat_id: Any) -> None:
        now = time.monotonic()
        waits = [
            w
            for w in (self._overall_window.wait_time(now), self._chat_window(chat_id).wait_time(now))
            if w is not None
        ]
        if waits:
            self.stats["rejected_429"] += 1
            retry_after = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _record_flood(self, chat_id: Any) -> None:
        now = time.monotonic()
        self._overall_window.add(now)
        self._chat_window(chat_id).add(now)

    # ------------------------------------------------------------------ shared helpers

    def _chat(self, chat_id: Any, *, writing: bool) -> SimUser:
        """Resolve chat_id to a simulated user; ``writing`` applies the bot-to-user rules."""
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        user: SimUser | None
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise _bad("chat not found")
            user = next((u for u in self._users.values() if u.username == chat_id[1:]), None)
            if user is None:
                raise _bad("chat not found")
        else:
            user = self._users.get(chat_id)
        if writing:
            if user is None or not user.started:
                raise ApiError(403, _CANT_INITIATE)
            if user.blocked:
                raise ApiError(403, _BLOCKED)
        elif user is None:
            raise _bad("chat not found")
        return user

    @staticmethod
    def _format(
        text: str, parse_mode: Any, entities: Any, *, limit: int, too_long: str
    ) -> tuple[str, list[dict], str | None]:
        if entities is not None and not isinstance(entities, list):
            raise _bad("can't parse entities JSON object")
        try:
            parsed = parse_text(text, parse_mode if isinstance(parse_mode, str) else None, entities)
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        except ValueError:
            raise _bad("unsupported parse_mode") from None
        if utf16_len(parsed.text) > limit:
            raise _bad(too_long)
        html = text if isinstance(parse_mode, str) and parse_mode.strip().lower() == "html" else None
        return parsed.text, parsed.entities, html

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            buttons = [button for row in rows for button in row]
            if len(buttons) > MAX_INLINE_BUTTONS:
                raise _bad("too many buttons")
            for button in buttons:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad(_TEXT_BUTTONS)
                if "callback_data" in button:
                    data = button["callback_data"]
                    if (
                        not isinstance(data, str)
                        or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                elif "url" in button:
                    url = str(button["url"])
                    scheme, _, rest = url.partition(":")
                    if scheme.lower() not in ("http", "https", "tg") or not rest.strip("/"):
                        raise _bad("BUTTON_URL_INVALID")
                elif not any(kind in button for kind in _OTHER_BUTTON_KINDS):
                    raise _bad(_TEXT_BUTTONS)
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            return markup
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _reply_target(user: SimUser, params: dict) -> int | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply", False))
        message_id: Any = None
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        elif reply is not None:
            raise _bad("can't parse reply parameters JSON object")
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        try:
            message_id = int(message_id)
        except (TypeError, ValueError):
            raise _bad("message to be replied not found") from None
        record = user._records.get(message_id)
        if record is None or record.deleted:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return message_id

    def _bot_message(
        self,
        user: SimUser,
        params: dict,
        content: dict,
        *,
        html: str | None = None,
        file_bytes: bytes | None = None,
    ) -> dict:
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(user, params)
        data: dict[str, Any] = {
            "message_id": user._next_message_id(),
            "from": self._bot_user(),
            "chat": user.chat_dict(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            data["reply_to_message"] = _without_reply(user._records[reply_to].data)
        data.update(content)
        if markup is not None:
            if "inline_keyboard" in markup:
                data["reply_markup"] = markup
            elif "keyboard" in markup:
                user.keyboard = markup
            elif markup.get("remove_keyboard"):
                user.keyboard = None
        if params.get("protect_content"):
            data["has_protected_content"] = True
        user._add_bot_message(_Record(data, from_bot=True, html=html, file_bytes=file_bytes))
        return data

    def _editable(self, params: dict) -> tuple[SimUser, _Record]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the local Bot API server")
        user = self._chat(params.get("chat_id"), writing=True)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        record = user._records.get(message_id) if isinstance(message_id, int) else None
        if record is None or record.deleted:
            raise _bad("message to edit not found")
        if not record.from_bot:
            raise _bad("message can't be edited")
        return user, record

    def _store_file(
        self,
        data: bytes,
        *,
        file_name: str | None,
        mime_type: str | None,
        kind: str,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        prefix = "BQACAgIAAxkBAAI" if kind == "document" else "AgACAgIAAxkBAAI"
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(36),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            kind=kind,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, params: dict, files: dict[str, _Upload], name: str) -> StoredFile | _Upload:
        """The file given in parameter ``name``: a new upload or a known stored file."""
        upload = files.get(name)
        if upload is None:
            value = params.get(name)
            if value is None or value == "":
                raise _bad(f"there is no {name} in the request")
            if not isinstance(value, str):
                raise _bad("wrong file identifier/HTTP URL specified")
            if value.startswith("attach://"):
                upload = files.get(value[len("attach://") :])
                if upload is None:
                    raise _bad(f'can\'t find attached file "{value[len("attach://") :]}"')
            else:
                stored = self._files.get(value)
                if stored is None:
                    # Covers HTTP URLs too: this server never fetches anything from the internet.
                    raise _bad("wrong file identifier/HTTP URL specified")
                return stored
        if not upload.data:
            raise _bad("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_SIZE:
            raise ApiError(413, "Request Entity Too Large")
        return upload

    def _caption(self, params: dict) -> tuple[dict, str | None]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return {}, None
        plain, entities, html = self._format(
            str(caption),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=MAX_CAPTION_LENGTH,
            too_long="message caption is too long",
        )
        content: dict[str, Any] = {}
        if plain:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return content, html

    # ------------------------------------------------------------------ Bot API methods

    @_api("getMe")
    async def _get_me(self, params: dict, files: dict) -> dict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @_api("logOut")
    async def _log_out(self, params: dict, files: dict) -> bool:
        return True

    @_api("close")
    async def _close(self, params: dict, files: dict) -> bool:
        return True

    @_api("getUpdates")
    async def _get_updates(self, params: dict, files: dict) -> list[dict]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        try:
            timeout = max(float(params.get("timeout", 0) or 0), 0.0)
        except (TypeError, ValueError):
            raise _bad("invalid timeout specified") from None
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
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if self._poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._updates[:limit]

    @_api("setWebhook")
    async def _set_webhook(self, params: dict, files: dict) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:
            await self._delete_webhook(params, files)
            return True
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad("bad webhook: invalid webhook URL specified")
        if not _is_local_host(parts.hostname):
            raise _bad("bad webhook: the local Bot API server only delivers to loopback or private addresses")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self.webhook = {
            "url": url,
            "secret_token": str(secret) if secret is not None else None,
            "max_connections": _int_param(params, "max_connections", 40),
            "ip_address": params.get("ip_address"),
        }
        self._webhook_error = None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook(), name="localapi-webhook")
        # wake a pending getUpdates so that it reports the conflict
        self._poll_generation += 1
        self._updates_signal.notify()
        return True

    @_api("deleteWebhook")
    async def _delete_webhook(self, params: dict, files: dict) -> bool:
        self.webhook = None
        self._webhook_error = None
        await self._stop_webhook_delivery()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    @_api("getWebhookInfo")
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

    # --- commands and menu

    @staticmethod
    def _scope_key(params: dict) -> str:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        kind = scope.get("type", "default")
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            key = kind
        elif kind in ("chat", "chat_administrators"):
            if scope.get("chat_id") is None:
                raise _bad("chat_id is empty")
            key = f"{kind}:{scope['chat_id']}"
        elif kind == "chat_member":
            if scope.get("chat_id") is None or scope.get("user_id") is None:
                raise _bad("chat_id is empty")
            key = f"chat_member:{scope['chat_id']}:{scope['user_id']}"
        else:
            raise _bad("wrong BotCommandScope type specified")
        language = params.get("language_code")
        if language:
            if not re.fullmatch(r"[a-z]{2}", str(language)):
                raise _bad("invalid language code specified")
            key = f"{key}/{language}"
        return key

    @_api("setMyCommands")
    async def _set_my_commands(self, params: dict, files: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).lstrip("/")
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise _bad("command description must be non-empty and at most 256 characters long")
            cleaned.append({"command": name, "description": description})
        key = self._scope_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    @_api("getMyCommands")
    async def _get_my_commands(self, params: dict, files: dict) -> list[dict]:
        return list(self.commands.get(self._scope_key(params), []))

    @_api("deleteMyCommands")
    async def _delete_my_commands(self, params: dict, files: dict) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    @_api("setChatMenuButton")
    async def _set_chat_menu_button(self, params: dict, files: dict) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise _bad("can't parse menu button JSON object")
        chat_id = params.get("chat_id")
        key = "default"
        if chat_id is not None:
            key = f"chat:{self._chat(chat_id, writing=False).chat_id}"
        self.menu_buttons[key] = button
        return True

    @_api("getChatMenuButton")
    async def _get_chat_menu_button(self, params: dict, files: dict) -> dict:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            key = f"chat:{self._chat(chat_id, writing=False).chat_id}"
            if key in self.menu_buttons:
                return self.menu_buttons[key]
        return self.menu_buttons.get("default", {"type": "commands"})

    def _profile_setter(self, field_name: str, params: dict, limit: int) -> bool:
        value = str(params.get(field_name) or "")
        if len(value) > limit:
            raise _bad(f"{field_name} is too long")
        language = params.get("language_code")
        key = f"{field_name}/{language}" if language else field_name
        if value:
            self.profile[key] = value
        else:
            self.profile.pop(key, None)
        return True

    def _profile_getter(self, field_name: str, params: dict) -> dict:
        language = params.get("language_code")
        value = self.profile.get(f"{field_name}/{language}") if language else None
        if value is None:
            value = self.profile.get(field_name, self.bot_first_name if field_name == "name" else "")
        return {field_name: value}

    @_api("setMyName")
    async def _set_my_name(self, params: dict, files: dict) -> bool:
        return self._profile_setter("name", params, 64)

    @_api("getMyName")
    async def _get_my_name(self, params: dict, files: dict) -> dict:
        return self._profile_getter("name", params)

    @_api("setMyDescription")
    async def _set_my_description(self, params: dict, files: dict) -> bool:
        return self._profile_setter("description", params, 512)

    @_api("getMyDescription")
    async def _get_my_description(self, params: dict, files: dict) -> dict:
        return self._profile_getter("description", params)

    @_api("setMyShortDescription")
    async def _set_my_short_description(self, params: dict, files: dict) -> bool:
        return self._profile_setter("short_description", params, 120)

    @_api("getMyShortDescription")
    async def _get_my_short_description(self, params: dict, files: dict) -> dict:
        return self._profile_getter("short_description", params)

    # --- chats

    @_api("getChat")
    async def _get_chat(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=False)
        return {
            **user.chat_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    @_api("sendChatAction")
    async def _send_chat_action(self, params: dict, files: dict) -> bool:
        user = self._chat(params.get("chat_id"), writing=True)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        user.chat_actions.append(action)
        return True

    # --- messages

    @_api("sendMessage", sends=True)
    async def _send_message(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=True)
        text = params.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        plain, entities, html = self._format(
            str(text),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_TEXT_LENGTH,
            too_long="message is too long",
        )
        if not plain.strip():
            raise _bad("message text is empty")
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        return self._bot_message(user, params, content, html=html)

    @_api("sendDocument", sends=True)
    async def _send_document(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=True)
        given = self._input_file(params, files, "document")
        caption, html = self._caption(params)
        if isinstance(given, _Upload):
            mime = given.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(given.file_name)[0] or mime or "application/octet-stream"
            stored = self._store_file(given.data, file_name=given.file_name, mime_type=mime, kind="document")
        else:
            stored = given
            if stored.kind != "document":
                raise _bad(f"can't use file of type {stored.kind.capitalize()} as Document")
        content: dict[str, Any] = {"document": stored.document_dict()}
        content.update(caption)
        return self._bot_message(user, params, content, html=html, file_bytes=stored.data)

    @_api("sendPhoto", sends=True)
    async def _send_photo(self, params: dict, files: dict) -> dict:
        user = self._chat(params.get("chat_id"), writing=True)
        given = self._input_file(params, files, "photo")
        caption, html = self._caption(params)
        if isinstance(given, _Upload):
            size = _image_size(given.data)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            mime = "image/png" if given.data.startswith(b"\x89PNG") else "image/jpeg"
            stored = self._store_file(
                given.data, file_name=None, mime_type=mime, kind="photo", width=size[0], height=size[1]
            )
        else:
            stored = given
            if stored.kind != "photo":
                raise _bad(f"can't use file of type {stored.kind.capitalize()} as Photo")
        content: dict[str, Any] = {"photo": stored.photo_sizes()}
        content.update(caption)
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_message(user, params, content, html=html, file_bytes=stored.data)

    @_api("editMessageText", sends=True)
    async def _edit_message_text(self, params: dict, files: dict) -> dict:
        user, record = self._editable(params)
        if "text" not in record.data:
            raise _bad("there is no text in the message to edit")
        text = params.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        plain, entities, html = self._format(
            str(text),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MAX_TEXT_LENGTH,
            too_long="message is too long",
        )
        if not plain.strip():
            raise _bad("message text is empty")
        markup = self._inline_markup(params)
        old = record.data
        if plain == old["text"] and entities == old.get("entities", []) and markup == old.get("reply_markup"):
            raise _bad(_NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("entities", "reply_markup")}
        data["text"] = plain
        if entities:
            data["entities"] = entities
        return self._finish_edit(user, record, data, markup, html)

    @_api("editMessageCaption", sends=True)
    async def _edit_message_caption(self, params: dict, files: dict) -> dict:
        user, record = self._editable(params)
        if "text" in record.data:
            raise _bad("there is no caption in the message to edit")
        caption, html = self._caption(params)
        markup = self._inline_markup(params)
        old = record.data
        if (
            caption.get("caption") == old.get("caption")
            and caption.get("caption_entities", []) == old.get("caption_entities", [])
            and markup == old.get("reply_markup")
        ):
            raise _bad(_NOT_MODIFIED)
        data = {k: v for k, v in old.items() if k not in ("caption", "caption_entities", "reply_markup")}
        data.update(caption)
        return self._finish_edit(user, record, data, markup, html)

    @_api("editMessageReplyMarkup", sends=True)
    async def _edit_message_reply_markup(self, params: dict, files: dict) -> dict:
        user, record = self._editable(params)
        markup = self._inline_markup(params)
        if markup == record.data.get("reply_markup"):
            raise _bad(_NOT_MODIFIED)
        data = {k: v for k, v in record.data.items() if k != "reply_markup"}
        return self._finish_edit(user, record, data, markup, record.html)

    def _inline_markup(self, params: dict) -> dict | None:
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        return markup

    @staticmethod
    def _finish_edit(
        user: SimUser, record: _Record, data: dict, markup: dict | None, html: str | None
    ) -> dict:
        if markup is not None:
            data["reply_markup"] = markup
        data["edit_date"] = max(int(time.time()), data["date"])
        user._replace(data["message_id"], data, html=html)
        return data

    @_api("deleteMessage")
    async def _delete_message(self, params: dict, files: dict) -> bool:
        user = self._chat(params.get("chat_id"), writing=False)
        message_id = params.get("message_id")
        record = user._records.get(message_id) if isinstance(message_id, int) else None
        if record is None or record.deleted:
            raise _bad("message to delete not found")
        user._delete(message_id)
        return True

    @_api("answerCallbackQuery")
    async def _answer_callback_query(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        answer: dict[str, Any] = {
            "callback_query_id": query_id,
            "show_alert": bool(params.get("show_alert", False)),
        }
        for name in ("text", "url", "cache_time"):
            if params.get(name) is not None:
                answer[name] = params[name]
        user: SimUser = query["user"]
        user.callback_answers.append(answer)
        user._signal.notify()
        return True

    # --- files

    @_api("getFile")
    async def _get_file(self, params: dict, files: dict) -> dict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        if stored.file_path is None:
            self._file_paths += 1
            if stored.kind == "photo":
                path = f"photos/file_{self._file_paths}.jpg"
            else:
                suffix = PurePosixPath(stored.file_name or "").suffix.lower()
                if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
                    suffix = mimetypes.guess_extension(stored.mime_type or "") or ""
                path = f"documents/file_{self._file_paths}{suffix}"
            stored.file_path = path
            self._files_by_path[path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    # ------------------------------------------------------------------ control routes
    # Small JSON endpoints to drive simulated users from another process, e.g. when
    # the server runs standalone (``python -m localapi``) for a demo.

    async def _sim_body(self, request: web.Request) -> tuple[SimUser, dict]:
        try:
            user_id = int(request.match_info["user_id"])
            body = await request.json() if request.body_exists else {}
        except ValueError:
            raise _bad("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise _bad("can't parse JSON object")
        user = self.user(
            user_id,
            first_name=str(body.get("first_name", "Test")),
            username=body.get("username"),
        )
        return user, body

    async def _handle_sim_send(self, request: web.Request) -> web.Response:
        try:
            user, body = await self._sim_body(request)
            message = await user.send(str(body.get("text", "")), reply_to=body.get("reply_to"))
        except ApiError as exc:
            return _json_response(exc.payload(), exc.code)
        except (ValueError, LookupError, RuntimeError) as exc:
            return _json_response(_bad(str(exc)).payload(), 400)
        return _json_response({"ok": True, "result": message.raw}, 200)

    async def _handle_sim_press(self, request: web.Request) -> web.Response:
        try:
            user, body = await self._sim_body(request)
            query_id = await user.press(int(body.get("message_id", 0)), str(body.get("button", "")))
        except ApiError as exc:
            return _json_response(exc.payload(), exc.code)
        except (ValueError, LookupError, RuntimeError) as exc:
            return _json_response(_bad(str(exc)).payload(), 400)
        return _json_response({"ok": True, "result": query_id}, 200)

    async def _handle_sim_messages(self, request: web.Request) -> web.Response:
        try:
            user = self._users[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            return _json_response(_bad("chat not found").payload(), 400)
        return _json_response({"ok": True, "result": [m.raw for m in user.history()]}, 200)


# ---------------------------------------------------------------------- helpers


def _json_response(payload: dict, status: int) -> web.Response:
    return web.json_response(payload, status=status, dumps=partial(json.dumps, ensure_ascii=False))


def _decode_param(name: str, value: Any) -> Any:
    """Decode one request parameter the way the Bot API does."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {name} JSON object") from None
    if name in INT_FIELDS:
        stripped = value.strip()
        if re.fullmatch(r"[+-]?\d+", stripped):
            return int(stripped)
        return value
    if name in BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


def _int_param(params: dict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _is_local_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an image, or None if it isn't one Telegram would accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    try:
        from PIL import Image  # optional; used for formats other than PNG
    except ImportError:  # pragma: no cover - depends on the environment
        return (0, 0) if data else None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return None


# The Bot API accepts these method names case-insensitively; keep a public list.
METHODS: tuple[str, ...] = tuple(sorted(name for name, _, _ in _METHODS.values()))
