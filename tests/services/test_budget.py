"""The send budget on its own: sends spaced at the rate, people before the queue, a 429
holding up its chat only, and (PostgreSQL) two processes' budgets sharing one rate."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from telegram.error import RetryAfter

from bot.budget import SendBudget
from bot.db import Database

RATE = 50.0  # sends a second: an interval of 20 ms keeps the tests short


class Recorder:
    """Stands for the Bot API: records when each send went out."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []
        self.refuse: dict[str, int] = {}  # chat -> answers of 429 still to give

    def call(self, name: str, chat: int):
        async def send(*_args, **_kwargs):
            if self.refuse.get(name):
                self.refuse[name] -= 1
                raise RetryAfter(1)
            self.sent.append((time.monotonic(), name))
            return {"message_id": len(self.sent)}

        return send


async def _send(budget: SendBudget, recorder: Recorder, name: str, chat: int, *, bulk: bool) -> None:
    await budget.process_request(
        recorder.call(name, chat),
        (),
        {},
        "sendMessage",
        {"chat_id": chat, "text": name},
        {"bulk": True} if bulk else None,
    )


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_sends_are_spaced_at_the_rate_and_a_stall_is_not_followed_by_a_burst():
    budget = SendBudget(RATE)
    recorder = Recorder()

    async def chat(n: int) -> None:
        for k in range(5):
            if n == 0 and k == 2:
                time.sleep(0.1)  # noqa: ASYNC251 - the event loop is blocked for five intervals, on purpose
            await _send(budget, recorder, f"c{n}-{k}", 1000 + n * 10 + k, bulk=True)

    await asyncio.gather(*(chat(n) for n in range(8)))
    times = sorted(t for t, _ in recorder.sent)
    assert len(times) == 40
    # Any ten intervals' time holds at most eleven sends, the stall included: the slots it
    # made late are given up, not sent together once it ends.
    for start in times:
        assert sum(1 for t in times if start <= t < start + 10 / RATE) <= 11, _gaps(times)
    assert times[-1] - times[0] >= 39 / RATE
    await budget.shutdown()


async def test_a_reply_goes_before_the_queued_messages():
    budget = SendBudget(RATE)
    recorder = Recorder()
    queue = [asyncio.create_task(_send(budget, recorder, f"bulk{n}", 2000 + n, bulk=True)) for n in range(40)]
    await asyncio.sleep(0.1)  # five of the forty have gone
    await _send(budget, recorder, "reply", 1, bulk=False)
    order = [name for _, name in recorder.sent]
    assert order.index("reply") <= 8, order
    await asyncio.gather(*queue)
    await budget.shutdown()


async def test_how_long_replies_waited_is_logged_once_at_shutdown(caplog):
    budget = SendBudget(RATE)
    recorder = Recorder()
    await asyncio.gather(*(_send(budget, recorder, f"reply{n}", n, bulk=False) for n in range(5)))
    with caplog.at_level("INFO", logger="bot.budget"):
        await budget.shutdown()
        await budget.shutdown()  # as python-telegram-bot may
    lines = [r.getMessage() for r in caplog.records if "replies waited for their slot" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("send budget: 5 replies"), lines


async def test_a_429_holds_up_its_chat_and_the_others_go_on():
    budget = SendBudget(RATE)
    recorder = Recorder()
    recorder.refuse["held"] = 1
    started = time.monotonic()
    others = [asyncio.create_task(_send(budget, recorder, f"other{n}", 3000 + n, bulk=True)) for n in range(20)]
    await _send(budget, recorder, "held", 7, bulk=True)
    await asyncio.gather(*others)
    sent = {name: at - started for at, name in recorder.sent}
    # Sent again once Telegram's "retry after 1" had passed, after everything else.
    assert sent["held"] >= 1.0
    assert max(at for name, at in sent.items() if name != "held") < 0.8, sent
    # Recorded, and the pace lowered for a while.
    assert budget.floods_last_hour() == 1
    assert budget.timeline.factor() > 1
    await budget.shutdown()


async def test_a_429_that_persists_is_given_up_for_the_queue_to_try_later():
    budget = SendBudget(RATE, max_retries=1)
    recorder = Recorder()
    recorder.refuse["stuck"] = 5
    with pytest.raises(RetryAfter):
        await _send(budget, recorder, "stuck", 8, bulk=True)
    assert budget.floods_last_hour() == 2
    await budget.shutdown()


async def test_two_processes_on_one_postgresql_database_share_one_rate(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("processes share the budget through PostgreSQL; on SQLite there is one process")
    db_a, db_b = Database(database_url), Database(database_url)
    first, second = SendBudget(RATE), SendBudget(RATE)
    await first.share_through(db_a, "123")
    await second.share_through(db_b, "123")
    assert first.timeline.shared and second.timeline.shared
    recorder = Recorder()
    try:
        await asyncio.gather(
            *(_send(first, recorder, f"a{n}", 4000 + n, bulk=True) for n in range(25)),
            *(_send(second, recorder, f"b{n}", 5000 + n, bulk=True) for n in range(25)),
        )
    finally:
        await first.shutdown()
        await second.shutdown()
        await db_a.dispose()
        await db_b.dispose()
    times = sorted(t for t, _ in recorder.sent)
    names = [name for _, name in sorted(recorder.sent)]
    assert {n[0] for n in names[:10]} == {"a", "b"}  # both sent from the start…
    # …together at one process's rate: 50 sends take 49 intervals, not half of them.
    assert times[-1] - times[0] >= 49 / RATE * 0.9
    # Never a burst: any ten intervals' time holds at most eleven sends (a database round
    # trip makes a send a little early or late; it never lets two slots' worth go at once).
    for start in times:
        assert sum(1 for t in times if start <= t < start + 10 / RATE) <= 11, _gaps(times)
