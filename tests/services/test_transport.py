"""The bot's HTTP to the Bot API (bot/transport.py), against the local Bot API server: what
python-telegram-bot relies on from a request, and what a poor network does to it."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Self

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.transport import AiohttpRequest
from localapi import LocalBotApi

TOKEN = "123456:TRANSPORT"


@pytest.fixture
async def api():
    async with LocalBotApi(strict=True) as server:
        yield server


def make_bot(url: str, **timeouts) -> Bot:
    return Bot(
        TOKEN,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        request=AiohttpRequest(**timeouts),
        get_updates_request=AiohttpRequest(connection_pool_size=1, read_timeout=5),
    )


async def test_messages_with_markup_and_html_arrive_as_sent(api):
    user = api.user(701, "Ana")
    user.started = True
    async with make_bot(api.url) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Send ✅", callback_data="ok")]])
        sent = await bot.send_message(
            user.id, "<b>Clause 2.1</b> — «text» &amp; more", parse_mode=ParseMode.HTML, reply_markup=keyboard
        )
        edited = await bot.edit_message_text(
            "Now <i>changed</i>", chat_id=user.id, message_id=sent.message_id, parse_mode=ParseMode.HTML
        )
    assert sent.text == "Clause 2.1 — «text» & more"
    assert edited.text == "Now changed"
    shown = user.message(sent.message_id)
    assert shown.text == "Now changed" and shown.edited


async def test_documents_go_up_and_come_down_byte_for_byte(api):
    user = api.user(702, "Ben")
    user.started = True
    payload = bytes(range(256)) * 400  # 100 KB, every byte value
    async with make_bot(api.url) as bot:
        sent = await bot.send_document(user.id, payload, filename="Draft – consolidated.docx", caption="Round 1")
        assert sent.document.file_name == "Draft – consolidated.docx"
        received = await user.send_document(b"PK\x03\x04 draft bytes", "upload.docx")
        file = await bot.get_file(received.document["file_id"])
        downloaded = bytes(await file.download_as_bytearray())
    assert user.message(sent.message_id).file_bytes == payload
    assert downloaded == b"PK\x03\x04 draft bytes"


# python-telegram-bot warns, as it builds a RetryAfter, that its retry_after will change type.
@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")
async def test_errors_of_the_bot_api_reach_the_bot_as_telegram_errors(api):
    user = api.user(703, "Chen")
    user.started = True
    async with make_bot(api.url) as bot:
        api.inject_error("sendMessage", 403, "Forbidden: bot was blocked by the user")
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(user.id, "hello")
        api.inject_error("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RetryAfter, match="Retry in 7"):
            await bot.send_message(user.id, "hello")
        with pytest.raises(BadRequest, match="parse entities"):
            await bot.send_message(user.id, "a & b", parse_mode=ParseMode.HTML)
        assert (await bot.send_message(user.id, "still fine")).text == "still fine"


async def test_a_slow_answer_times_out_and_the_next_request_goes_through(api):
    user = api.user(704, "Dara")
    user.started = True
    async with make_bot(api.url, read_timeout=0.3) as bot:
        api.delays["sendmessage"] = 2.0
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "slow")
        assert time.monotonic() - started < 1.5
        api.delays.clear()
        assert (await bot.send_message(user.id, "fast")).text == "fast"
        # A long poll waits as long as it was asked to, past the ordinary read timeout.
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9


async def _dead_port() -> int:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    return port


async def test_no_server_is_a_network_error_not_a_hang():
    bot = make_bot(f"http://127.0.0.1:{await _dead_port()}", connect_timeout=2)
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError):
            await bot.initialize()  # asks for getMe
    finally:
        await bot.shutdown()
    assert time.monotonic() - started < 3


async def test_the_proxy_of_the_environment_is_used(api, monkeypatch):
    """A bot behind a government network's proxy reaches Telegram through it (HTTP_PROXY,
    HTTPS_PROXY and NO_PROXY, as with python-telegram-bot's default transport). aiohttp reads
    them at every request."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    user = api.user(705, "Eka")
    user.started = True
    async with make_bot(api.url, connect_timeout=2) as bot:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{await _dead_port()}")
        with pytest.raises(NetworkError):
            await bot.send_message(user.id, "through the proxy")  # the proxy is down: nothing gets through
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert (await bot.send_message(user.id, "past the proxy")).text == "past the proxy"
    assert [m.text for m in user.messages()] == ["past the proxy"]


async def test_a_bad_api_url_is_named_in_the_error_without_the_token():
    """A typo in TELEGRAM_API_URL shows up in the log as the URL, never with the bot's token."""
    import traceback

    bot = make_bot("http://127.0.0.1:99999")
    try:
        with pytest.raises(NetworkError) as failure:
            await bot.initialize()
    finally:
        await bot.shutdown()
    assert "http://127.0.0.1:99999/bot<token>/getMe" in str(failure.value)
    assert TOKEN.split(":")[1] not in "".join(traceback.format_exception(failure.value))


class KeepAliveServer:
    """An HTTP/1.1 server that keeps connections open and answers every request with a Bot
    API success, unless `drop(request)` says to close the connection instead, without a word
    (`reset`: abruptly, as a middlebox that forgot the connection does). A request is
    `(number on its connection, number overall)`, both from 0."""

    def __init__(self, drop: Callable[[tuple[int, int]], bool], *, reset: bool = False) -> None:
        self.drop = drop
        self.reset = reset
        self.requests: list[tuple[int, int]] = []
        self.dropped: list[tuple[int, int]] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_exc) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = next(
                    (int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")), 0
                )
                await reader.readexactly(length)
                request = (served, len(self.requests))
                self.requests.append(request)
                served += 1
                if self.drop(request):
                    self.dropped.append(request)
                    if self.reset:
                        writer.get_extra_info("socket").setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        writer.transport.abort()
                    else:
                        writer.close()
                    return
                answer = json.dumps({"ok": True, "result": True}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def _post_twice(url: str) -> list[object]:
    """Two Bot API calls in a row on one transport: the second goes out on the first's
    pooled connection. What each returned or raised."""
    outcomes: list[object] = []
    async with AiohttpRequest(connect_timeout=2, read_timeout=2) as request:
        for method in ("close", "logOut"):
            try:
                outcomes.append(await request.post(f"{url}/bot{TOKEN}/{method}"))
            except NetworkError as error:
                outcomes.append(error)
    return outcomes


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
async def test_a_pooled_connection_the_server_closed_is_retried_once_on_another(reset):
    """The server closed an idle keep-alive connection just as the next request went out on
    it: that request goes out again, on a new connection, and succeeds."""
    async with KeepAliveServer(lambda request: request == (1, 1), reset=reset) as server:
        assert await _post_twice(server.url) == [True, True]
    assert server.requests == [(0, 0), (1, 1), (0, 2)]  # the retry went out on a fresh connection
    assert server.dropped == [(1, 1)]


async def test_a_request_is_retried_only_once():
    async with KeepAliveServer(lambda request: request[1] >= 1) as server:
        first, second = await _post_twice(server.url)
    assert first is True
    assert isinstance(second, NetworkError) and not isinstance(second, TimedOut)
    assert TOKEN.split(":")[1] not in str(second)
    assert server.requests == [(0, 0), (1, 1), (0, 2)]  # once more, not twice


async def test_a_request_that_fails_on_a_fresh_connection_is_not_sent_again():
    """A fresh connection closed without an answer: the server may have acted on the
    request (a message sent), so it is not repeated; the bot sees a network error."""
    async with KeepAliveServer(lambda request: True) as server:
        outcomes = await _post_twice(server.url)
    assert all(isinstance(outcome, NetworkError) for outcome in outcomes)
    assert server.requests == [(0, 0), (0, 1)]  # each request once, each on its own connection
