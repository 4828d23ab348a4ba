"""What every API area of the server shares: its state, resolving chats, and strict mode.

:class:`~localapi.server.LocalBotApi` is assembled from one mixin per API area
(``messages``, ``callbacks``, ``files``, ``updates``, ``profile``, ``control``); each
derives from :class:`ServerCore`, which declares the state they share (set up in
``LocalBotApi.__init__``) and the helpers they all use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localapi.limits import FloodControl
from localapi.protocol import ApiError, BotApiCall, bad, current_call

if TYPE_CHECKING:  # pragma: no cover
    from localapi.users import SimUser

__all__ = ["ServerCore"]

BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"


class ServerCore:
    """State and helpers shared by the API areas (see the module docstring)."""

    #: True: Telegram's limits are enforced (see :mod:`localapi.limits`)
    strict: bool
    bot_id: int | None
    bot_username: str
    bot_first_name: str
    calls: list[BotApiCall]
    stats: dict[str, int]
    flood: FloodControl
    _users: dict[int, SimUser]

    # ------------------------------------------------------------------ strict mode

    def _breach(self, error: ApiError) -> None:
        """One of Telegram's limits is broken: refuse in strict mode, otherwise note it."""
        call = current_call.get()
        if call is not None and call.violation is None:
            call.violation = error.description
        if self.strict:
            raise error

    def _count_message(self, chat_id: int) -> None:
        """Flood control for one message to ``chat_id``, just before it is delivered."""
        retry_after = self.flood.retry_after(chat_id)
        if retry_after is not None:
            error = ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
            if self.strict:
                self.stats["rejected_429"] += 1
            self._breach(error)
        self.flood.count(chat_id)

    @property
    def violations(self) -> list[BotApiCall]:
        """Calls that broke one of Telegram's limits (refused in strict mode, let through
        otherwise), in arrival order; each call's ``violation`` says which."""
        return [call for call in self.calls if call.violation is not None]

    # ------------------------------------------------------------------ chats and the bot

    def _chat(self, chat_id: Any, *, writing: bool) -> SimUser:
        """Resolve chat_id to a simulated user; ``writing`` applies the bot-to-user rules."""
        if chat_id is None or chat_id == "":
            raise bad("chat_id is empty")
        user: SimUser | None
        if isinstance(chat_id, str):
            if not chat_id.startswith("@"):
                raise bad("chat not found")
            user = next((u for u in self._users.values() if u.username == chat_id[1:]), None)
            if user is None:
                raise bad("chat not found")
        else:
            user = self._users.get(chat_id)
        if writing:
            if user is None or not user.started:
                raise ApiError(403, CANT_INITIATE)
            if user.blocked:
                raise ApiError(403, BLOCKED)
        elif user is None:
            raise bad("chat not found")
        return user

    def _bot_user(self) -> dict:
        return {
            "id": self.bot_id or 0,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _recent_failures(self, count: int) -> list[BotApiCall]:
        failures = [c for c in self.calls if c.status >= 400]
        return failures[-count:]
