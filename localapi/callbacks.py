"""Button presses: the callback queries simulated users raise, and ``answerCallbackQuery``."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from localapi.core import ServerCore
from localapi.limits import (
    CALLBACK_ANSWER_TOO_LONG,
    MAX_CALLBACK_ANSWER_LENGTH,
    too_long,
)
from localapi.protocol import api, bad

if TYPE_CHECKING:  # pragma: no cover
    from localapi.users import SimUser

__all__ = ["CallbacksMixin"]


class CallbacksMixin(ServerCore):
    _callback_queries: dict[str, dict]

    def _new_callback_query(self, user: SimUser) -> str:
        query_id = str(secrets.randbits(63))
        self._callback_queries[query_id] = {"user": user, "answered": False}
        return query_id

    @api("answerCallbackQuery")
    async def _answer_callback_query(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and too_long(str(text), MAX_CALLBACK_ANSWER_LENGTH):
            self._breach(bad(CALLBACK_ANSWER_TOO_LONG))
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
