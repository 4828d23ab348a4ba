"""Run the local Bot API server standalone: ``python -m localapi --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from localapi.server import LocalBotApi


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localapi",
        description="Serve a local Telegram Bot API on loopback (for tests, demos and benchmarks).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8081, help="port to bind, 0 for any (default: %(default)s)")
    parser.add_argument(
        "--strict",
        "--rate-limit",
        dest="strict",
        action="store_true",
        help="enforce Telegram's limits: formatting, lengths, callback data, flood limits (429)",
    )
    parser.add_argument("--overall-per-second", type=float, default=30.0, help="messages/s over all chats")
    parser.add_argument("--per-chat-per-second", type=float, default=1.0, help="messages/s in one chat")
    parser.add_argument("--per-chat-burst", type=int, default=10, help="messages at once in one chat")
    parser.add_argument("--bot-username", default="clausebot_local_bot")
    parser.add_argument("--bot-first-name", default="Clausebot")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    api = LocalBotApi(
        host=args.host,
        port=args.port,
        bot_username=args.bot_username,
        bot_first_name=args.bot_first_name,
        strict=args.strict,
        overall_per_second=args.overall_per_second,
        per_chat_per_second=args.per_chat_per_second,
        per_chat_burst=args.per_chat_burst,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(sig, stop.set)
    async with api:
        print(f"Local Bot API listening on {api.url}", flush=True)
        print(f"  base_url      = {api.url}/bot", flush=True)
        print(f"  base_file_url = {api.url}/file/bot", flush=True)
        if args.strict:
            overall, per_chat, burst = args.overall_per_second, args.per_chat_per_second, args.per_chat_burst
            print(
                f"  strict: Telegram's limits; {overall:g}/s overall, {per_chat:g}/s per chat (bursts of {burst})",
                flush=True,
            )
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped.", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
