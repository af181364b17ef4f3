"""The Redis client's helpers."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shopflow.platform.redisx import stop_if_cancelled


async def test_a_cancellation_that_got_lost_still_stops_a_loop() -> None:
    laps = 0

    async def loop() -> None:
        nonlocal laps
        while True:
            stop_if_cancelled()
            laps += 1
            # swallowing it, as asyncio.wait_for may on Python 3.11 when a send completes
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    task = asyncio.ensure_future(loop())
    await asyncio.sleep(0.05)
    task.cancel()
    async with asyncio.timeout(10):  # a bound on the test, not a measurement
        with pytest.raises(asyncio.CancelledError):
            await task
    assert laps >= 1
