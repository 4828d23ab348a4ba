"""HTTP to the Bot API over aiohttp.

python-telegram-bot talks to Telegram through a `BaseRequest`; its default is built on httpx,
whose pure-Python HTTP/1.1 stack costs more CPU per request than everything else the bot does
for a button press. aiohttp (already here for the webhook server and the local Bot API server)
parses HTTP in C: the same requests and answers, for about a third of the CPU (a sendMessage
to the local Bot API server, both ends in one process: 0.9–1.2 ms against 3.3–3.6 ms).

Timeouts follow python-telegram-bot's meaning: `connect` to open a connection, `pool` to wait
for a free one, `read` for the answer; `write` bounds sending a request body (uploads get the
longer media timeout).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# The token is part of every Bot API URL; an error message must not carry it into the logs.
_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+/")


class AiohttpRequest(BaseRequest):
    __slots__ = ("_connect", "_media_write", "_pool", "_pool_size", "_proxies", "_read", "_session", "_write")

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
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )
            self._proxies = {}

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None

        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write = (self._media_write if files else self._write) if isinstance(write_timeout, DefaultValue) else write_timeout

        data: aiohttp.FormData | dict[str, str] | None = fields or None
        if files:
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form

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
                async with self._session.request(
                    method, url, data=data, timeout=timeout, proxy=self._proxy_for(url)
                ) as response:
                    return response.status, await response.read()
        # The original errors are not chained: some name the whole URL, token included.
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            detail = _masked(err)
            raise TimedOut(f"Timed out: {detail}" if detail else None) from None
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {_masked(err)}") from None

    def _proxy_for(self, url: str) -> str | None:
        """The proxy the environment names for this URL (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY,
        NO_PROXY), as httpx would use it; read once per host, not at every request."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxies = getproxies()
            proxy = proxies.get(parts.scheme) or proxies.get("all")
            self._proxies[key] = None if not proxy or proxy_bypass(parts.hostname or "") else proxy
        return self._proxies[key]


def _masked(error: Exception) -> str:
    return _TOKEN_IN_URL.sub("/bot<token>/", str(error))


def _sum(*parts: float | None) -> float | None:
    """A total of timeouts; None (no limit) if any part has none."""
    if any(part is None for part in parts):
        return None
    return float(sum(parts))  # type: ignore[arg-type]
