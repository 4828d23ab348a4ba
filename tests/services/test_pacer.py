"""The sender's pacing: Telegram's overall limit is never exceeded, even after the event loop
stalls (no burst to catch up)."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.sender import Pacer

RATE = 100.0  # sends a second: an interval of 10 ms keeps the test short


async def _starts(pacer: Pacer, count: int, *, stall_at: int | None = None) -> list[float]:
    loop = asyncio.get_running_loop()
    starts = []
    for n in range(count):
        if n == stall_at:
            time.sleep(0.08)  # noqa: ASYNC251 - the event loop is blocked for eight intervals, on purpose
        await pacer.wait()
        starts.append(loop.time())
    return starts


def _gaps(starts: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(starts)]


async def test_sends_are_spaced_and_a_stall_is_not_followed_by_a_burst():
    pacer = Pacer(RATE)
    starts = await _starts(pacer, 40, stall_at=20)
    floor = (1 - 0.25) / RATE - 0.002  # a little under: the clock is read after each wait returns
    assert min(_gaps(starts)) >= floor, _gaps(starts)
    # Never more than the rate in any window of one second's worth of sends.
    for index in range(len(starts)):
        window = [t for t in starts if starts[index] <= t < starts[index] + 10 / RATE]
        assert len(window) <= 11


async def test_senders_sharing_a_pacer_keep_to_it_together():
    pacer = Pacer(RATE)
    results = await asyncio.gather(*(_starts(pacer, 10) for _ in range(4)))
    starts = sorted(t for result in results for t in result)
    assert min(_gaps(starts)) >= (1 - 0.25) / RATE - 0.002
