"""Body-read deadlines (server/deadlines.py): one watchdog instead of a timer per read."""

from __future__ import annotations

import asyncio

import pytest

from server.deadlines import BodyTimeout, Deadlines


async def test_an_overdue_read_times_out_and_others_go_on() -> None:
    deadlines = Deadlines(tick=0.05)
    loop = asyncio.get_running_loop()
    never: asyncio.Future[bytes] = loop.create_future()
    soon: asyncio.Future[bytes] = loop.create_future()
    loop.call_later(0.02, soon.set_result, b"body")

    started = loop.time()
    with pytest.raises(BodyTimeout):
        await deadlines.read(never, loop.time() + 0.1)
    assert 0.1 <= loop.time() - started < 1.0
    assert await deadlines.read(soon, loop.time() + 5) == b"body"
    # The task that timed out is not left cancelled: it goes on awaiting.
    await asyncio.sleep(0.01)


async def test_a_cancellation_that_is_not_the_deadline_goes_through() -> None:
    deadlines = Deadlines(tick=0.05)
    loop = asyncio.get_running_loop()
    never: asyncio.Future[bytes] = loop.create_future()
    reading = asyncio.create_task(deadlines.read(never, loop.time() + 60))
    await asyncio.sleep(0.01)
    reading.cancel()  # a client gone, a shutdown
    with pytest.raises(asyncio.CancelledError):
        await reading


async def test_the_watchdog_sleeps_when_nothing_is_read() -> None:
    deadlines = Deadlines(tick=0.01)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    done.set_result(b"x")
    await deadlines.read(done, loop.time() + 1)
    await asyncio.sleep(0.05)
    assert deadlines._watchdog is None
