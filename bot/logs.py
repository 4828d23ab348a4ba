"""Logging that never shows the bot's token.

The token is part of every Bot API URL, and python-telegram-bot names it in some of its
errors ("The token `…` was rejected by the server"). `TokenFilter` masks it in every record
a handler writes: the message with its arguments, the exception's text and the stack. It
masks the configured token, and anything shaped like one (`123456:AAE…`), since a log may
show a token other than the one configured.

Network errors from python-telegram-bot (a connection refused, a timeout) are logged in one
line: their traceback only shows the HTTP library's insides.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

MASK = "<token>"
TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")


class TokenFilter(logging.Filter):
    def __init__(self, tokens: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._tokens: list[str] = []
        for token in tokens:
            self.protect(token)

    def protect(self, token: str | None) -> None:
        """Mask this token too (and its URL-quoted spelling)."""
        if not token:
            return
        for spelling in {token, quote(token, safe="")}:
            if spelling not in self._tokens:
                self._tokens.append(spelling)
        self._tokens.sort(key=len, reverse=True)

    def mask(self, text: str) -> str:
        for token in self._tokens:
            text = text.replace(token, MASK)
        return TOKEN_PATTERN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # arguments that do not fit the format: show both
            message = f"{record.msg!r} % {record.args!r}"
        if record.exc_info and record.exc_info[1] is not None and _one_line(record.exc_info[1]):
            error = record.exc_info[1]
            message = f"{message}: {type(error).__name__}: {error}"
            record.exc_info = None
            record.exc_text = None
        record.msg = self.mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def _one_line(error: BaseException) -> bool:
    try:
        from telegram.error import InvalidToken, NetworkError
    except ImportError:  # pragma: no cover - python-telegram-bot is a dependency
        return False
    return isinstance(error, NetworkError | InvalidToken)


FILTER = TokenFilter()


def install(root: logging.Logger | None = None) -> TokenFilter:
    """Put the filter on every handler of the root logger (records that propagate from other
    loggers pass through handlers' filters, not through the root logger's own), and route
    warnings through logging so that they pass it too."""
    root = root or logging.getLogger()
    for handler in root.handlers:
        if FILTER not in handler.filters:
            handler.addFilter(FILTER)
    logging.captureWarnings(True)
    return FILTER


def protect(token: str | None) -> None:
    FILTER.protect(token)


def mask(text: str) -> str:
    return FILTER.mask(text)
