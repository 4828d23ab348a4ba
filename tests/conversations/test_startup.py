"""`clausebot run` and `clausebot invite` as processes, when Telegram cannot be had as
configured: out of reach, a refused token, a URL that is no Bot API server. One line each,
never the token, never a traceback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

from aiohttp import web

from localapi import LocalBotApi

TOKEN = "123456789:AAE" + "Secret_Token-Value" * 2  # shaped like BotFather's, so either mask applies
REFUSED = (
    "Telegram refused the token; check TELEGRAM_BOT_TOKEN: it is the token @BotFather gave the bot "
    "(/mybots, the bot, API Token shows it again)."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _clausebot(database_url: str, api_url: str, *argv: str, **extra: str) -> asyncio.subprocess.Process:
    environment = {
        **{k: v for k, v in os.environ.items() if k != "BOT_USERNAME"},
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api_url,
        "DATABASE_URL": database_url,
        "QUIET_HOURS": "",
        "OUTBOX_POLL_SECONDS": "0.3",
        **extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *argv,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _finished(process: asyncio.subprocess.Process, timeout: float = 60) -> str:
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return output.decode(errors="replace")


async def _lines_until(process: asyncio.subprocess.Process, wanted, timeout: float = 30) -> list[str]:
    """Lines of output until one for which `wanted(line)` holds."""
    lines: list[str] = []

    async def read():
        while True:
            raw = await process.stdout.readline()
            if not raw:
                raise AssertionError("the process ended:\n" + "".join(lines))
            lines.append(raw.decode(errors="replace"))
            if wanted(lines[-1]):
                return lines

    return await asyncio.wait_for(read(), timeout)


def _clean(output: str) -> None:
    assert "Traceback" not in output, output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output, output


async def test_run_waits_for_telegram_with_one_line_per_attempt_and_stops_on_sigterm(database_url):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = await _clausebot(database_url, url, "run")
    try:
        lines = await _lines_until(process, lambda line: "retrying in 4 s" in line)
    finally:
        process.send_signal(signal.SIGTERM)
        rest = await _finished(process)
    output = "".join(lines) + rest
    _clean(output)
    attempts = [line for line in output.splitlines() if "Telegram unreachable" in line]
    assert len(attempts) == 2, output
    assert attempts[0].endswith(
        f"WARNING clausebot: Telegram unreachable at {url} (ClientConnectorError: Cannot connect to host "
        f"127.0.0.1:{port} ssl:default [Connect call failed ('127.0.0.1', {port})]); retrying in 2 s"
    )
    assert "stopped before Telegram was reached" in rest
    assert process.returncode == 0, output


async def test_run_starts_once_telegram_can_be_reached(database_url):
    port = _free_port()
    process = await _clausebot(database_url, f"http://127.0.0.1:{port}", "run")
    try:
        await _lines_until(process, lambda line: "retrying in 2 s" in line)
        async with LocalBotApi(port=port):
            await _lines_until(process, lambda line: "Clausebot @clausebot_local_bot ready" in line)
            process.send_signal(signal.SIGTERM)
            output = await _finished(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    _clean(output)
    assert process.returncode == 0, output


async def test_a_refused_token_ends_run_with_one_line(database_url):
    async with LocalBotApi() as server:
        server.inject_error("getMe", 401, "Unauthorized")
        output = await _finished(await _clausebot(database_url, server.url, "run"))
    assert output == f"{REFUSED} The server said: 401 Unauthorized.\n"


async def _serve(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_a_url_that_is_no_bot_api_server_is_named_as_such(database_url):
    async def plain_web_server(_request):
        return web.Response(status=404, text="<html><body>Not Found</body></html>", content_type="text/html")

    runner, url = await _serve(plain_web_server)
    try:
        output = await _finished(await _clausebot(database_url, url, "run"))
        invite = await _finished(await _clausebot(database_url, url, "invite", "--role", "secretariat"))
    finally:
        await runner.cleanup()
    assert output == (
        f"{url} does not look like a Bot API server: it answered getMe with 404 Not Found. Check TELEGRAM_API_URL: "
        "leave it unset for Telegram (https://api.telegram.org), or give the root of a local telegram-bot-api "
        "server, e.g. http://127.0.0.1:8081.\n"
    )
    assert invite.startswith(f"{url} does not look like a Bot API server") and invite.count("\n") == 1
    assert "Or set BOT_USERNAME" in invite


async def test_telegrams_own_404_for_a_token_it_cannot_read_is_a_refused_token(database_url):
    async def bot_api(_request):
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    runner, url = await _serve(bot_api)
    try:
        output = await _finished(await _clausebot(database_url, url, "run"))
    finally:
        await runner.cleanup()
    assert output == f"{REFUSED} The server said: 404 Not Found.\n"


async def test_the_token_python_telegram_bot_names_in_its_error_is_not_shown(database_url):
    """getMe answers once, then the token is refused: python-telegram-bot's own error (which
    names the token) is logged masked, in one line, and the command ends with ours."""
    calls = []

    async def bot_api(request):
        calls.append(request.path)
        if len(calls) == 1:
            return web.json_response(
                {"ok": True, "result": {"id": 123456789, "is_bot": True, "first_name": "C", "username": "once_bot"}}
            )
        return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)

    runner, url = await _serve(bot_api)
    try:
        output = await _finished(await _clausebot(database_url, url, "run"))
    finally:
        await runner.cleanup()
    _clean(output)
    assert output.rstrip("\n").splitlines()[-1] == REFUSED, output
    assert all(TOKEN in path for path in calls)  # the token did go to the server, and nowhere else


async def test_invite_with_telegram_unreachable_says_what_to_do_in_one_line(database_url):
    from bot.db import Database
    from bot.services import registry

    db = Database(database_url)
    async with db.session() as session:
        await registry.seed_asean(session)
    await db.dispose()
    url = f"http://127.0.0.1:{_free_port()}"
    output = await _finished(await _clausebot(database_url, url, "invite", "--role", "secretariat"))
    _clean(output)
    assert output.startswith(f"Cannot learn the bot's username: Telegram unreachable at {url} (")
    assert output.endswith(
        "Set BOT_USERNAME to the bot's username (without @), or try again when Telegram can be reached; nothing was issued.\n"
    )
    assert output.count("\n") == 1

    output = await _finished(
        await _clausebot(database_url, url, "invite", "--role", "secretariat", BOT_USERNAME="offline_bot")
    )
    assert output.splitlines()[-1].startswith("https://t.me/offline_bot?start="), output


async def test_telegram_lost_between_the_check_and_the_start_is_waited_for_again(database_url):
    calls = []

    async def flaky(request):
        calls.append(request.path)
        if len(calls) == 1:
            return web.json_response(
                {"ok": True, "result": {"id": 123456789, "is_bot": True, "first_name": "C", "username": "flaky_bot"}}
            )
        return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)

    runner, url = await _serve(flaky)
    process = await _clausebot(database_url, url, "run")
    try:
        lines = await _lines_until(
            process, lambda line: "Telegram unreachable at" in line and "(502 Bad Gateway)" in line
        )
    finally:
        process.send_signal(signal.SIGTERM)
        rest = await _finished(process)
        await runner.cleanup()
    output = "".join(lines) + rest
    _clean(output)
    assert any(
        f"Telegram unreachable at {url} while starting (" in line and line.endswith("retrying in 2 s")
        for line in output.splitlines()
    ), output
    assert process.returncode == 0, output
