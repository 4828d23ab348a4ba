"""Running the application: in-process (tests, the demo) and long polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def polling(application, *, poll_timeout: int = 10) -> AsyncIterator:
    """The same lifecycle as `Application.run_polling`, inside an existing event loop."""
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=poll_timeout, drop_pending_updates=False)
        try:
            yield application
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
