"""The Bot API's wire format: calls, error answers, parameter decoding, the method registry.

Every API area (``messages``, ``callbacks``, ``files``, ``updates``, ``profile``) registers
its methods with :func:`api`; :class:`~localapi.server.LocalBotApi` looks a request's method
up in :data:`REGISTRY` (case-insensitively, as Telegram does) and calls the handler with
the decoded parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from aiohttp import web

__all__ = [
    "REGISTRY",
    "ApiError",
    "BotApiCall",
    "Method",
    "api",
    "bad",
    "current_call",
    "decode_param",
    "int_param",
    "json_response",
]

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")

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


@dataclass
class BotApiCall:
    """One Bot API method call made by the bot.

    ``at`` is the wall-clock time (``time.time()``) the request arrived; ``status``
    is the HTTP status of the answer (0 while a long poll is still pending) and
    ``description`` Telegram's error description for failed calls.  ``violation`` is
    the description of the first of Telegram's limits the call broke (see
    :mod:`localapi.limits`): in strict mode the call was refused with it, otherwise it
    went through and this records what Telegram would have answered.
    """

    method: str
    params: dict
    at: float
    status: int = 0
    description: str | None = None
    violation: str | None = None


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


def bad(description: str) -> ApiError:
    """A 400 answer: ``Bad Request: <description>``."""
    return ApiError(400, f"Bad Request: {description}")


#: the call being answered, for rules that record what they find on it
current_call: ContextVar[BotApiCall | None] = ContextVar("localapi_current_call", default=None)

Handler = Callable[[Any, dict, dict], Awaitable[Any]]


class Method(NamedTuple):
    name: str  # as Telegram spells it
    handler: Handler
    sends: bool  # a message the bot sends or edits: counted in ``stats["sent"]``


#: Bot API methods by lower-case name
REGISTRY: dict[str, Method] = {}


def api(name: str, *, sends: bool = False) -> Callable[[Handler], Handler]:
    """Register a Bot API method; ``sends`` marks methods that send or edit a message."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name.lower()] = Method(name, handler, sends)
        return handler

    return register


def json_response(payload: dict, status: int) -> web.Response:
    return web.json_response(payload, status=status, dumps=partial(json.dumps, ensure_ascii=False))


def decode_param(name: str, value: Any) -> Any:
    """Decode one request parameter the way the Bot API does."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad(f"can't parse {name} JSON object") from None
    if name in INT_FIELDS:
        stripped = value.strip()
        if re.fullmatch(r"[+-]?\d+", stripped):
            return int(stripped)
        return value
    if name in BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


def int_param(params: dict, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f"invalid {name} specified") from None
