"""Stock notices: the background sender stops when asked, whatever it was sending."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from shopflow.app import build_cache
from shopflow.catalog.interface import StockMove, StockNotices
from shopflow.platform.metrics import Metrics
from shopflow.platform.redisx import connect


async def test_the_sender_stops_when_cancelled_mid_send(settings: Any) -> None:
    """A cancellation that lands while a batch goes out (redis-py sends under a timeout,
    which on Python 3.11 can swallow it) still stops the sender, so an app's shutdown
    never waits for ever."""
    redis = connect(settings.redis_url, settings.redis_timeout)
    cache = build_cache(settings, redis, Metrics())
    try:
        for attempt in range(20):
            notices = StockNotices(cache, every=0.0)  # always sending

            async def feed(notices: StockNotices = notices) -> None:
                while True:
                    notices.moved([StockMove(uuid.uuid4(), True)])
                    await asyncio.sleep(0)

            feeding = asyncio.create_task(feed())
            sending = asyncio.create_task(notices.run())
            await asyncio.sleep(0.001 * (attempt % 7))
            sending.cancel()
            done, _ = await asyncio.wait({sending}, timeout=5)
            feeding.cancel()
            await asyncio.gather(feeding, return_exceptions=True)
            assert done, f"the sender ignored its cancellation (attempt {attempt})"
    finally:
        await redis.aclose()
