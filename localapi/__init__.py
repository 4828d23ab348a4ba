"""A local Telegram Bot API server with simulated users, for tests, demos and benchmarks.

With ``strict=True`` Telegram's limits (formatting, lengths, callback data, flood limits)
are enforced and answered as Telegram answers them (:mod:`localapi.limits`); without it
such requests go through and ``api.violations`` lists them.

Point python-telegram-bot at it with::

    async with LocalBotApi(strict=True) as api:
        app = (
            ApplicationBuilder()
            .token("123456:TEST")
            .base_url(f"{api.url}/bot")
            .base_file_url(f"{api.url}/file/bot")
            .build()
        )
        user = api.user(1001, first_name="Alice")
        await user.send("/start")
        reply = await user.next_message()
"""

from localapi.server import BotApiCall, LocalBotApi
from localapi.users import SimMessage, SimUser

__all__ = ["BotApiCall", "LocalBotApi", "SimMessage", "SimUser"]
