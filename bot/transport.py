"""HTTP to the Bot API over aiohttp.

python-telegram-bot talks to Telegram through a `BaseRequest`; its default is built on httpx.
This one is built on aiohttp (already here for the webhook server and the local Bot API
server), which parses HTTP in C, and sends a request once more when it went out on a pooled
connection that the server had closed (see below).

Built on python-telegram-bot's public `telegram.request` API only. Timeouts follow its
meaning: `connect` to open a connection, `pool` to wait for a free one, `read` for the answer;
`write` bounds sending a request body (uploads get the longer media timeout).

Proxies come from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), read by aiohttp
itself (`trust_env`) at every request, in worker threads, along with ~/.netrc. That reading
is most of what a request costs the bot: a sendMessage to the local Bot API server, both
ends in one process, takes 1.2–2.0 ms, about as much as with httpx (1.4–1.5 ms), where
aiohttp without it takes 0.5 ms.

A pooled connection that the server closed while it sat idle (its keep-alive ran out just
as a request went out on it) fails that request before any answer: such a request is sent
once more, on another connection. A request that fails on a fresh connection is not: the
server may have acted on it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# The token is part of every Bot API URL; an error message must not carry it into the logs.
_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+/")

# aiohttp sends these once more by itself when a reused connection fails (RFC 9112, 9.3.1).
_RETRIED_BY_AIOHTTP = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class AiohttpRequest(BaseRequest):
    __slots__ = ("_connect", "_media_write", "_pool", "_pool_size", "_read", "_session", "_write")

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            reuse = aiohttp.TraceConfig()
            reuse.on_connection_reuseconn.append(_note_reuse)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                trust_env=True,
                trace_configs=[reuse],
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None

        read = _chosen(read_timeout, self._read)
        connect = _chosen(connect_timeout, self._connect)
        pool = _chosen(pool_timeout, self._pool)
        write = _chosen(write_timeout, self._media_write if files else self._write)

        def body() -> aiohttp.FormData | dict[str, str] | None:
            """The request's body, made afresh for each attempt (a form is sent only once)."""
            if not files:
                return fields or None
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            return form

        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's `connect` covers waiting for a free connection as well as opening one.
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            # Nothing in aiohttp bounds the sending of the body: the whole exchange is.
            async with asyncio.timeout(_sum(connect, pool, write, read)):
                return await self._exchange(self._session, method, url, body, timeout)
        # The original errors are not chained: some name the whole URL, token included.
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            detail = _masked(err)
            raise TimedOut(f"Timed out: {detail}" if detail else None) from None
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {_masked(err)}") from None

    @staticmethod
    async def _exchange(
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        body: Callable[[], aiohttp.FormData | dict[str, str] | None],
        timeout: aiohttp.ClientTimeout,
    ) -> tuple[int, bytes]:
        """One request and its answer; once more on another connection if it went out on a
        pooled connection that turned out to be closed, before any answer came."""
        retry = method not in _RETRIED_BY_AIOHTTP
        while True:
            attempt = SimpleNamespace(reused=False)
            try:
                response = await session.request(method, url, data=body(), timeout=timeout, trace_request_ctx=attempt)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as err:
                if retry and attempt.reused and not isinstance(err, aiohttp.ClientConnectorError):
                    retry = False
                    continue
                raise
            async with response:
                return response.status, await response.read()


async def _note_reuse(_session: aiohttp.ClientSession, context: SimpleNamespace, _params: object) -> None:
    """Trace hook: the request is going out on a connection from the pool."""
    if isinstance(context.trace_request_ctx, SimpleNamespace):
        context.trace_request_ctx.reused = True


def _chosen(given: object, default: float | None) -> float | None:
    """A timeout python-telegram-bot passed, or this transport's own when it passed none."""
    if given is BaseRequest.DEFAULT_NONE:
        return default
    if given is None or isinstance(given, int | float):
        return given
    raise TypeError(f"a timeout is a number of seconds or None, not {given!r}")


def _masked(error: Exception) -> str:
    return _TOKEN_IN_URL.sub("/bot<token>/", str(error))


def _sum(*parts: float | None) -> float | None:
    """A total of timeouts; None (no limit) if any part has none."""
    if any(part is None for part in parts):
        return None
    return float(sum(parts))  # type: ignore[arg-type]
