"""Running the application: in-process (tests, the demo) and long polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application


@asynccontextmanager
async def polling(
    application: Application[Any, Any, Any, Any, Any, Any], *, poll_timeout: int = 10
) -> AsyncIterator[None]:
    """The same lifecycle as `Application.run_polling`, inside an existing event loop."""
    updater = application.updater
    if updater is None:
        raise RuntimeError("polling needs an application built with an updater")
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        await updater.start_polling(poll_interval=0.0, timeout=poll_timeout, drop_pending_updates=False)
        try:
            yield
        finally:
            if updater.running:
                await updater.stop()
            if application.running:
                await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
