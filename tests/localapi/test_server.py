"""Tests for the local Bot API server, driven by real python-telegram-bot clients."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from localapi import BotApiCall, LocalBotApi, SimMessage, SimUser
from localapi.limits import FloodControl

TOKEN = "123456789:AAH-local_test-token"

# 1x1 transparent PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


@pytest.fixture
async def api():
    async with LocalBotApi(strict=True) as server:
        yield server


@pytest.fixture
async def bot(api: LocalBotApi):
    async with Bot(TOKEN, base_url=f"{api.url}/bot", base_file_url=f"{api.url}/file/bot") as client:
        yield client


def build_app(api: LocalBotApi) -> Application:
    return ApplicationBuilder().token(TOKEN).base_url(f"{api.url}/bot").base_file_url(f"{api.url}/file/bot").build()


@contextlib.asynccontextmanager
async def polling(app: Application):
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=5)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def raw_call(api: LocalBotApi, method: str, token: str = TOKEN, **kwargs) -> tuple[int, dict]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{api.url}/bot{token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


# ---------------------------------------------------------------------- protocol basics


async def test_get_me_token_check_and_method_lookup(api: LocalBotApi, bot: Bot):
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot and me.username == "clausebot_local_bot" and me.first_name == "Clausebot"
    assert me.can_join_groups and not me.can_read_all_group_messages and not me.supports_inline_queries

    status, body = await raw_call(api, "getMe", token="not-a-token")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

    status, body = await raw_call(api, "sendSticker")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})

    status, body = await raw_call(api, "GETME")  # method names are case-insensitive
    assert status == 200 and body["ok"] and body["result"]["id"] == 123456789

    user = api.user(42)
    await user.send("hi")
    status, body = await raw_call(api, "sendMessage", json={"chat_id": 42, "text": "via json"})
    assert status == 200 and body["result"]["text"] == "via json"
    status, body = await raw_call(api, "sendMessage", params={"chat_id": "42", "text": "via query"})
    assert status == 200 and body["result"]["message_id"] == 3

    # Bot.initialize() calls getMe too
    assert [c.method for c in api.calls_of("getme")] == ["getMe"] * 3
    call = api.calls_of("sendMessage")[0]
    assert isinstance(call, BotApiCall) and call.params == {"chat_id": 42, "text": "via json"}
    assert call.status == 200 and call.at <= time.time()
    assert [m.text for m in user.messages()] == ["via json", "via query"]


async def test_long_poll_returns_promptly_and_confirms_by_offset(api: LocalBotApi, bot: Bot):
    user = api.user(7)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await user.send("ping")
    updates = await poll
    assert time.monotonic() - started < 0.5
    assert [u.update_id for u in updates] == [1]
    assert updates[0].message.text == "ping" and updates[0].message.from_user.id == 7

    await user.send("pong")
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [1, 2]  # not confirmed yet
    confirmed = await bot.get_updates(offset=2, timeout=0)
    assert [u.update_id for u in confirmed] == [2]
    assert api.pending_updates[0]["update_id"] == 2

    started = time.monotonic()
    assert await bot.get_updates(offset=3, timeout=0.2) == ()
    assert 0.15 < time.monotonic() - started < 1.0


async def test_stop_releases_pending_long_poll():
    api = LocalBotApi()
    await api.start()
    async with aiohttp.ClientSession() as session:

        async def poll() -> dict:
            async with session.post(f"{api.url}/bot{TOKEN}/getUpdates", data={"timeout": "30"}) as response:
                return await response.json()

        task = asyncio.create_task(poll())
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await api.stop()
        assert await asyncio.wait_for(task, 2) == {"ok": True, "result": []}
        assert time.monotonic() - started < 1.0


# ---------------------------------------------------------------------- a real PTB application


async def test_start_command_reaches_handler_and_reply_arrives(api: LocalBotApi):
    app = build_app(api)
    seen: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(list(context.args))
        await update.message.reply_html(f"Hello, <b>{update.effective_user.first_name}</b>!")

    app.add_handler(CommandHandler("start", start))
    user = api.user(1001, first_name="Alice", username="alice")
    async with polling(app):
        started = time.monotonic()
        sent = await user.send("/start TOKEN123")
        reply = await user.next_message(timeout=5)
        elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert seen == [["TOKEN123"]]
    assert reply.text == "Hello, Alice!"
    assert reply.html == "Hello, <b>Alice</b>!"
    assert reply.entities == [{"type": "bold", "offset": 7, "length": 5}]
    assert reply.reply_to_message_id is None and reply.from_bot
    assert reply.message_id == sent.message_id + 1
    assert reply.raw["chat"] == {"id": 1001, "type": "private", "first_name": "Alice", "username": "alice"}
    assert user.messages() == [reply]
    # the updater confirmed the update on shutdown
    assert api.pending_updates == []


async def test_button_press_runs_callback_handler(api: LocalBotApi):
    app = build_app(api)

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Approve clause", callback_data="approve:3")],
                [InlineKeyboardButton("Reject", callback_data="reject:3")],
                [InlineKeyboardButton("Docs", url="https://example.org/doc")],
            ]
        )
        await update.message.reply_text("Clause 3?", reply_markup=keyboard)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer(f"Got {query.data}", show_alert=True)
        await query.edit_message_text(f"Clause 3: {query.data.split(':')[0]}d")

    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(on_button))
    user = api.user(2002)
    async with polling(app):
        await user.send("/menu")
        prompt = await user.next_message(timeout=5)
        assert prompt.button_texts() == ["Approve clause", "Reject", "Docs"]
        assert prompt.buttons()[2] == [("Docs", "https://example.org/doc")]
        with pytest.raises(LookupError, match="Approve clause"):
            await user.press(prompt, "Maybe")
        with pytest.raises(LookupError, match="url"):
            await user.press(prompt, "Docs")

        query_id = await user.press(prompt, "Approve")
        answer = await user.wait_callback_answer(timeout=5)
        edited = await user.wait_for(lambda m: m.edited, timeout=5)

    assert answer == {"callback_query_id": query_id, "show_alert": True, "text": "Got approve:3"}
    assert user.callback_answers == [answer]
    assert edited.message_id == prompt.message_id
    assert edited.text == "Clause 3: approved" and edited.reply_markup is None and edited.edit_date
    assert [m.text for m in user.messages()] == ["Clause 3: approved"]
    with pytest.raises(TimeoutError, match="Clause 3: approved"):
        await user.next_message(timeout=0.05)


async def test_document_round_trip(api: LocalBotApi):
    app = build_app(api)
    received: list[bytes] = []
    payload = bytes(range(256)) * 40

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        document = update.message.document
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        received.append(data)
        buffer = io.BytesIO()
        await file.download_to_memory(buffer)
        assert buffer.getvalue() == data
        await update.message.reply_document(
            data[::-1],
            filename="reversed.docx",
            caption=f"<i>{document.file_name}</i> reversed",
            parse_mode="HTML",
            do_quote=True,  # sent as reply_parameters
        )

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    user = api.user(3003)
    async with polling(app):
        upload = await user.send_document(payload, "draft.docx", caption="please review")
        reply = await user.next_message(timeout=5)

    assert upload.document["file_name"] == "draft.docx"
    assert upload.document["mime_type"].endswith("wordprocessingml.document")
    assert received == [payload]
    assert reply.document["file_name"] == "reversed.docx"
    assert reply.document["file_size"] == len(payload)
    assert reply.file_bytes == payload[::-1]
    assert reply.caption == "draft.docx reversed" and reply.html == "<i>draft.docx</i> reversed"
    assert reply.reply_to_message_id == upload.message_id
    assert api.file(reply.document["file_id"]).data == payload[::-1]
    get_file = api.calls_of("getFile")[0]
    assert get_file.status == 200
    assert api.calls_of("sendDocument")[0].params["document"] == "<file 'reversed.docx', 10240 bytes>"


# ---------------------------------------------------------------------- validation


async def test_html_must_be_valid_for_telegram(api: LocalBotApi, bot: Bot):
    user = api.user(11)
    await user.send("/start")
    for bad in ("1 < 2", "Q&A", "<b>bold</i>", "<b>unclosed", "<div>x</div>", "<span>x</span>"):
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(user.chat_id, bad, parse_mode=ParseMode.HTML)
    assert api.calls_of("sendMessage")[-1].description.startswith("Bad Request: can't parse entities")

    message = await bot.send_message(
        user.chat_id,
        "<b>Clause 1</b> &lt;draft&gt; &amp; "
        '<a href="https://example.org/?a=1&amp;b=2">link</a> &#8212; <tg-spoiler>s</tg-spoiler>',
        parse_mode=ParseMode.HTML,
    )
    assert message.text == "Clause 1 <draft> & link \u2014 s"
    stored = user.messages()[-1]
    assert stored.text == message.text and stored.html.startswith("<b>Clause 1</b>")
    kinds = [(e["type"], e["offset"], e["length"]) for e in stored.entities]
    assert kinds == [("bold", 0, 8), ("text_link", 19, 4), ("spoiler", 26, 1)]
    assert message.entities[1].url == "https://example.org/?a=1&b=2"

    # MarkdownV2 is checked the same way
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(user.chat_id, "*Clause 1.* done", parse_mode=ParseMode.MARKDOWN_V2)
    md = await bot.send_message(user.chat_id, r"*Clause 1\.* done", parse_mode=ParseMode.MARKDOWN_V2)
    assert md.text == "Clause 1. done" and md.entities[0].type == "bold"

    # without parse_mode markup characters are plain text
    plain = await bot.send_message(user.chat_id, "1 < 2 & <b>")
    assert plain.text == "1 < 2 & <b>" and user.messages()[-1].html is None


async def test_text_length_buttons_and_chat_rules(api: LocalBotApi, bot: Bot):
    user = api.user(12)
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation with a user"):
        await bot.send_message(user.chat_id, "hello?")
    await user.send("/start")

    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(user.chat_id, "   ")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(user.chat_id, "x" * 4097)
    await bot.send_message(user.chat_id, "x" * 4096)
    # lengths are counted in UTF-16 code units, after entity parsing
    await bot.send_message(user.chat_id, "<b>" + "\U0001f600" * 2048 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(user.chat_id, "\U0001f600" * 2049)

    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            user.chat_id,
            "pick",
            reply_markup=InlineKeyboardMarkup.from_button(InlineKeyboardButton("a", callback_data="\u00e9" * 33)),
        )
    many = InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)])
    with pytest.raises(BadRequest, match="(?i)too many buttons"):
        await bot.send_message(user.chat_id, "pick", reply_markup=many)

    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(user.chat_id, "re", reply_to_message_id=999)

    user.block()
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(user.chat_id, "still there?")
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
    user.unblock()
    await bot.send_message(user.chat_id, "welcome back")
    assert len(user.messages()) == 3


async def test_edit_and_delete_messages(api: LocalBotApi, bot: Bot):
    user = api.user(13)
    await user.send("/start")
    keyboard = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Yes", callback_data="yes"))
    sent = await bot.send_message(user.chat_id, "Question?", reply_markup=keyboard)
    first = await user.next_message(timeout=1)
    assert first.buttons() == [[("Yes", "yes")]]

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Question?", user.chat_id, sent.message_id, reply_markup=keyboard)
    edited = await bot.edit_message_text("<b>Answered</b>", user.chat_id, sent.message_id, parse_mode="HTML")
    assert edited.text == "Answered" and edited.edit_date is not None and edited.reply_markup is None
    current = user.messages()[0]
    assert current.text == "Answered" and current.html == "<b>Answered</b>" and current.edited
    assert first.text == "Question?"  # snapshots don't change

    await bot.edit_message_reply_markup(user.chat_id, sent.message_id, reply_markup=keyboard)
    assert user.messages()[0].button_texts() == ["Yes"]
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(user.chat_id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", user.chat_id, 999)

    assert await bot.delete_message(user.chat_id, sent.message_id)
    assert user.messages() == []
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(user.chat_id, sent.message_id)
    # edits are not new messages
    with pytest.raises(TimeoutError):
        await user.next_message(timeout=0.05)


async def test_photos_captions_and_file_limits(api: LocalBotApi, bot: Bot):
    user = api.user(14)
    await user.send("/start")
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_document(user.chat_id, b"data", filename="a.txt", caption="c" * 1025)
    photo = await bot.send_photo(user.chat_id, PNG, caption="tiny")
    assert (photo.photo[-1].width, photo.photo[-1].height) == (1, 1)
    stored = await user.next_message(timeout=1)
    assert stored.file_bytes == PNG and stored.caption == "tiny"
    # re-sending by file_id reuses the stored file
    again = await bot.send_photo(user.chat_id, photo.photo[-1].file_id)
    assert again.photo[-1].file_unique_id == photo.photo[-1].file_unique_id
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user.chat_id, b"not an image")
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_document(user.chat_id, "https://example.org/file.pdf")

    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("nope")
    big = await user.send_document(b"\0" * (20 * 1024 * 1024 + 1), "huge.bin")
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await bot.get_file(big.document["file_id"])
    small = await user.send_document(b"%PDF-1.4", "scan.pdf")
    file = await bot.get_file(small.document["file_id"])
    assert file.file_path.endswith("/documents/file_1.pdf") and file.file_size == 8
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4"

    snapshot = await user.send_photo(PNG, caption="a scan", width=1, height=1)
    update = (await bot.get_updates(timeout=0))[-1]
    assert update.message.caption == "a scan" and update.message.photo[-1].width == 1
    file = await update.message.photo[-1].get_file()
    assert file.file_path.endswith("/photos/file_2.jpg")
    assert bytes(await file.download_as_bytearray()) == PNG == snapshot.file_bytes


async def test_injected_errors(api: LocalBotApi, bot: Bot):
    user = api.user(15)
    await user.send("/start")
    api.inject_error("sendMessage", 502, "Bad Gateway")
    api.inject_error("sendmessage", 400, "Bad Request: custom failure")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(user.chat_id, "first")
    with pytest.raises(BadRequest, match="(?i)custom failure"):
        await bot.send_message(user.chat_id, "second")
    await bot.send_message(user.chat_id, "third")
    assert [(c.status, c.description) for c in api.calls_of("sendMessage")] == [
        (502, "Bad Gateway"),
        (400, "Bad Request: custom failure"),
        (200, None),
    ]
    assert [m.text for m in user.messages()] == ["third"]


async def test_commands_scopes_and_menu(api: LocalBotApi, bot: Bot):
    alice, bob = api.user(21), api.user(22, language_code="de")
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("hilfe", "Hilfe")], language_code="de")
    await bot.set_my_commands([BotCommand("admin", "Admin tools")], scope=BotCommandScopeChat(21))
    assert api.commands["default"] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert set(api.commands) == {"default", "default/de", "chat:21"}
    assert [c["command"] for c in alice.visible_commands()] == ["admin"]
    assert [c["command"] for c in bob.visible_commands()] == ["hilfe"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(21))] == ["admin"]

    await bot.delete_my_commands(scope=BotCommandScopeChat(21))
    assert [c["command"] for c in alice.visible_commands()] == ["start", "help"]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    assert await bot.set_chat_menu_button()
    assert api.menu_buttons == {"default": {"type": "default"}}


async def test_webhook_delivery(api: LocalBotApi, bot: Bot):
    received: list[tuple[dict, str | None]] = []
    arrived = asyncio.Event()
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        if fail_first.pop() if fail_first else False:
            return web.Response(status=500)
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        arrived.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(BadRequest, match="(?i)bad webhook"):
            await bot.set_webhook("https://example.org/hook")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match="(?i)webhook is active"):
            await bot.get_updates()
        await api.user(31).send("via webhook")
        await asyncio.wait_for(arrived.wait(), 5)
        update, secret = received[0]
        assert secret == "s3cret" and update["message"]["text"] == "via webhook"
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        await api.user(31).send("via polling")
        assert [u.message.text for u in await bot.get_updates()] == ["via polling"]
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------------- SimUser waiting semantics


async def test_wait_for_next_message_and_drain(api: LocalBotApi, bot: Bot):
    api.flood = FloodControl(per_chat_per_second=None)  # many messages to one chat at once
    user = api.user(41)
    await user.send("/start")
    assert isinstance(user, SimUser) and api.user(41) is user

    async def bot_side() -> None:
        progress = await bot.send_message(user.chat_id, "Working...")
        await bot.send_message(user.chat_id, "Step 1")
        await asyncio.sleep(0.05)
        await bot.edit_message_text("Done: 3 clauses", user.chat_id, progress.message_id)
        await bot.send_message(user.chat_id, "Step 2")

    task = asyncio.create_task(bot_side())
    done = await user.wait_for("Done", timeout=2)
    assert isinstance(done, SimMessage) and done.edited and done.text == "Done: 3 clauses"
    # the next_message cursor moved past the matched message ("Working..." was first)
    assert (await user.next_message(timeout=1)).text == "Step 1"
    assert (await user.next_message(timeout=1)).text == "Step 2"
    await task

    with pytest.raises(TimeoutError) as excinfo:
        await user.wait_for("never", timeout=0.05)
    assert "Step 2" in str(excinfo.value)

    await bot.send_message(user.chat_id, "a")
    await bot.send_message(user.chat_id, "b")
    drained = await user.drain(quiet=0.1)
    assert [m.text for m in drained] == ["a", "b"]
    assert await user.drain(quiet=0.05) == []
    assert "SimMessage(#" in repr(drained[0]) and "'a'" in repr(drained[0])

    # a user's reply references the bot message
    reply = await user.send("answer", reply_to=drained[1])
    update = (await bot.get_updates(timeout=0))[-1]
    assert update.message.reply_to_message.text == "b" and reply.reply_to_message_id == drained[1].message_id


async def test_standalone_server_runs_until_interrupted():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "localapi",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        first_line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert first_line.startswith("Local Bot API listening on http://127.0.0.1:")
        url = first_line.rsplit(" ", 1)[1].strip()
        async with Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot") as bot:
            assert (await bot.get_me()).username == "clausebot_local_bot"
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/_sim/users/5/send", json={"text": "/start"}) as response,
        ):
            assert (await response.json())["result"]["text"] == "/start"
        process.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 10)
        assert process.returncode == 0, stderr.decode()
        assert stdout.decode().rstrip().endswith("Stopped.")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_public_names_stay_where_they_were():
    import localapi
    from localapi import server

    assert set(localapi.__all__) == {"BotApiCall", "LocalBotApi", "SimMessage", "SimUser"}
    assert {"METHODS", "ApiError", "BotApiCall", "LocalBotApi", "StoredFile"} <= set(vars(server))
    assert {"sendMessage", "sendDocument", "editMessageText", "answerCallbackQuery", "getUpdates", "getFile"} <= set(
        server.METHODS
    )
