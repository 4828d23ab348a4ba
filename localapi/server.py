"""A local, in-process implementation of the Telegram Bot API over real HTTP.

``LocalBotApi`` serves the subset of the Bot API that Clausebot uses, on
loopback, with Telegram's request encoding, response format, validation rules and
error messages, so that python-telegram-bot (or any other client) can be pointed
at it with ``base_url``/``base_file_url`` and cannot tell the difference.  Test
code plays the human side through :class:`~localapi.users.SimUser` objects.

In strict mode (``LocalBotApi(strict=True)``) Telegram's limits are enforced too:
formatting, text and caption lengths, callback data, callback answers, and the flood
limits, each answered as Telegram answers it (:mod:`localapi.limits` has the rules).
Without it such requests go through and ``violations`` lists them.

The server is assembled from one module per API area: :mod:`~localapi.messages` (chats,
sending, editing, keyboards), :mod:`~localapi.callbacks` (button presses),
:mod:`~localapi.files` (uploads, ``getFile``, downloads), :mod:`~localapi.updates`
(``getUpdates``, webhooks) and :mod:`~localapi.profile` (``getMe``, commands, menu,
names); this module starts it, routes requests and serves the control endpoints.

Nothing here talks to the internet: files given by URL are refused and webhooks
are only delivered to loopback or private addresses.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from localapi.callbacks import CallbacksMixin
from localapi.files import StoredFile, Upload
from localapi.limits import MAX_UPLOAD_SIZE, FloodControl
from localapi.messages import MessagesMixin
from localapi.profile import ProfileMixin
from localapi.protocol import (
    REGISTRY,
    TOKEN_RE,
    ApiError,
    BotApiCall,
    bad,
    current_call,
    decode_param,
    json_response,
)
from localapi.updates import UpdatesMixin
from localapi.users import SimUser, _Signal

__all__ = ["METHODS", "ApiError", "BotApiCall", "LocalBotApi", "StoredFile"]


class LocalBotApi(MessagesMixin, CallbacksMixin, UpdatesMixin, ProfileMixin):
    """A local Telegram Bot API server for tests, demos and benchmarks.

    ``strict`` turns on Telegram's limits (:mod:`localapi.limits`); it can be switched at
    any time (``api.strict = False``).  ``rate_limit`` is its former name, kept for
    callers that still use it.  ``overall_per_second``, ``per_chat_per_second`` and
    ``per_chat_burst`` are the flood limits (``None`` turns one off); ``clock`` is the
    monotonic clock they run on.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "clausebot_local_bot",
        bot_first_name: str = "Clausebot",
        strict: bool = False,
        rate_limit: bool = False,
        overall_per_second: float | None = 30.0,
        per_chat_per_second: float | None = 1.0,
        per_chat_burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        #: True: Telegram's limits are enforced, as Telegram answers them
        self.strict = strict or rate_limit
        #: Telegram's flood limits, counted in either mode, enforced in strict mode
        self.flood = FloodControl(
            overall_per_second=overall_per_second,
            per_chat_per_second=per_chat_per_second,
            per_chat_burst=per_chat_burst,
            clock=clock,
        )
        #: the bot's user id, learned from the token of the first request
        self.bot_id: int | None = None

        #: every Bot API method call the bot made, in arrival order
        self.calls: list[BotApiCall] = []
        self.commands = {}
        self.menu_buttons = {}
        self.profile = {}
        self.webhook = None
        #: counters: "sent" (accepted sending calls), "rejected_429" (flood-limited calls)
        self.stats: dict[str, int] = {"sent": 0, "rejected_429": 0}
        #: seconds to wait before answering a method, by lower-case method name (a slow network)
        self.delays: dict[str, float] = {}

        self._users: dict[int, SimUser] = {}
        self._files = {}
        self._files_by_path = {}
        self._file_paths = 0
        self._callback_queries = {}
        self._updates = []
        self.update_log = []
        self._next_update_id = 1
        self._allowed_updates = None
        self._updates_signal = _Signal()
        self._poll_generation = 0
        self._closing = False
        self._injected: dict[str, list[tuple[ApiError, str | None]]] = {}
        self._webhook_task = None
        self._webhook_error = None
        self._runner: web.AppRunner | None = None

    @property
    def overall_per_second(self) -> float | None:
        return self.flood.overall_per_second

    @property
    def per_chat_per_second(self) -> float | None:
        return self.flood.per_chat_per_second

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

    async def __aenter__(self) -> Self:
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

    def inject_error(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        times: int = 1,
        retry_after: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with the given error (only those
        to ``chat_id``, when given).

        Useful to test how the bot copes with e.g. 502s or flood waits.
        """
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        queue = self._injected.setdefault(method.lower(), [])
        chat = None if chat_id is None else str(chat_id)
        queue.extend((ApiError(error_code, description, parameters), chat) for _ in range(times))

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not TOKEN_RE.match(token):
            return json_response(ApiError(401, "Unauthorized").payload(), 401)
        if self.bot_id is None:
            self.bot_id = int(token.split(":", 1)[0])
        requested = request.match_info["method"]
        entry = REGISTRY.get(requested.lower())
        method_name = entry.name if entry else requested
        call = BotApiCall(method=method_name, params={}, at=time.time())
        self.calls.append(call)
        context = current_call.set(call)
        try:
            params, files = await self._read_params(request)
            call.params = dict(params)
            for name, upload in files.items():
                call.params[name] = f"<file {upload.file_name!r}, {len(upload.data)} bytes>"
            if entry is None:
                raise ApiError(404, "Not Found")
            injected = self._injected.get(method_name.lower())
            if injected:
                chat = str(params.get("chat_id"))
                for index, (error, only_chat) in enumerate(injected):
                    if only_chat is None or only_chat == chat:
                        del injected[index]
                        raise error
            delay = self.delays.get(method_name.lower())
            if delay:
                await asyncio.sleep(delay)
            try:
                result = await entry.handler(self, params, files)
            except asyncio.CancelledError:
                call.description = "request cancelled (client disconnected)"
                raise
            if entry.sends:
                self.stats["sent"] += 1
        except ApiError as exc:
            call.status = exc.code
            call.description = exc.description
            return json_response(exc.payload(), exc.code)
        finally:
            current_call.reset(context)
        call.status = 200
        return json_response({"ok": True, "result": result}, 200)

    async def _read_params(self, request: web.Request) -> tuple[dict, dict[str, Upload]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = json.loads(await request.read() or b"{}")
                except ValueError:
                    raise bad("can't parse JSON object") from None
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                if not isinstance(body, dict):
                    raise bad("can't parse JSON object")
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
                        files[name] = Upload(value.filename or name, data, value.content_type)
                    else:
                        raw[name] = value
        return {name: decode_param(name, value) for name, value in raw.items()}, files

    # ------------------------------------------------------------------ control routes
    # Small JSON endpoints to drive simulated users from another process, e.g. when
    # the server runs standalone (``python -m localapi``) for a demo.

    async def _sim_body(self, request: web.Request) -> tuple[SimUser, dict]:
        try:
            user_id = int(request.match_info["user_id"])
            body = await request.json() if request.body_exists else {}
        except ValueError:
            raise bad("can't parse JSON object") from None
        if not isinstance(body, dict):
            raise bad("can't parse JSON object")
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
            return json_response(exc.payload(), exc.code)
        except (ValueError, LookupError, RuntimeError) as exc:
            return json_response(bad(str(exc)).payload(), 400)
        return json_response({"ok": True, "result": message.raw}, 200)

    async def _handle_sim_press(self, request: web.Request) -> web.Response:
        try:
            user, body = await self._sim_body(request)
            query_id = await user.press(int(body.get("message_id", 0)), str(body.get("button", "")))
        except ApiError as exc:
            return json_response(exc.payload(), exc.code)
        except (ValueError, LookupError, RuntimeError) as exc:
            return json_response(bad(str(exc)).payload(), 400)
        return json_response({"ok": True, "result": query_id}, 200)

    async def _handle_sim_messages(self, request: web.Request) -> web.Response:
        try:
            user = self._users[int(request.match_info["user_id"])]
        except (KeyError, ValueError):
            return json_response(bad("chat not found").payload(), 400)
        return json_response({"ok": True, "result": [m.raw for m in user.history()]}, 200)


# The Bot API accepts these method names case-insensitively; keep a public list.
METHODS: tuple[str, ...] = tuple(sorted(method.name for method in REGISTRY.values()))
