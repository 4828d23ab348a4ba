"""The bot's HTTP to the Bot API (bot/transport.py), against the local Bot API server: what
python-telegram-bot relies on from a request, and what a poor network does to it."""

from __future__ import annotations

import asyncio
import time

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
        sent = await bot.send_message(user.id, "<b>Clause 2.1</b> — «text» &amp; more", parse_mode=ParseMode.HTML, reply_markup=keyboard)
        edited = await bot.edit_message_text("Now <i>changed</i>", chat_id=user.id, message_id=sent.message_id, parse_mode=ParseMode.HTML)
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
    HTTPS_PROXY and NO_PROXY, as with python-telegram-bot's default transport)."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{await _dead_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    bot = make_bot(api.url, connect_timeout=2)
    try:
        with pytest.raises(NetworkError):
            await bot.initialize()  # the proxy is down: nothing gets through
    finally:
        await bot.shutdown()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with make_bot(api.url) as bot:
        assert (await bot.get_me()).is_bot


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
