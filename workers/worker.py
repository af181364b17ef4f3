"""arq's Worker, made to ride out a Redis outage instead of dying of it.

arq's poll loop lets the first Redis error escape `Worker.main()`, which ends the process
with a traceback. Here a poll that meets Redis down logs one warning, waits for Redis with
backoff (pinging it), drops the pool's idle connections (they lead to the server that
died) and carries on; jobs are at-least-once and idempotent, so a job whose end could not
be recorded simply runs again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.worker import Worker

from shopflow.platform.redisx import UNAVAILABLE, stop_if_cancelled

log = logging.getLogger("shopflow.worker")


class SteadyWorker(Worker):
    def __init__(self, *args: Any, reconnect: tuple[float, float] = (0.5, 10.0), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._pool is None:
            raise ValueError("give the worker its redis_pool (shopflow.platform.redisx.connect)")
        self.reconnect = reconnect  # seconds between attempts: the first, and at most (doubling)
        self.waiting_for_redis = False

    async def main(self) -> None:
        while True:
            await self._until_redis_answers()
            try:
                return await super().main()
            except UNAVAILABLE as e:  # before polling starts (polling rides it out): again
                self._lost(e)

    async def _poll_iteration(self) -> None:
        stop_if_cancelled()  # a stop (SIGTERM cancels the main task) is never lost
        try:
            await super()._poll_iteration()
        except UNAVAILABLE as e:
            self._lost(e)
            await self._until_redis_answers()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq takes a slot (job counter and semaphore) for a job before asking Redis about it
        # and gives it back only once the job's task ends; when that question fails, no task
        # was made, so the slot is given back here, else a few outages would use them all.
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except UNAVAILABLE:
                self._release_sem_dec_counter_on_complete()
                raise

    def _lost(self, error: BaseException) -> None:
        if not self.waiting_for_redis:
            log.warning("Redis unavailable; the worker waits for it: %r", error)
        self.waiting_for_redis = True

    async def _until_redis_answers(self) -> None:
        delay = self.reconnect[0]
        while True:
            stop_if_cancelled()
            try:
                await self.pool.ping()
            except UNAVAILABLE as e:
                self._lost(e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect[1])
                continue
            if self.waiting_for_redis:
                await self.pool.connection_pool.disconnect(inuse_connections=False)
                log.info("Redis answers again; the worker carries on")
                self.waiting_for_redis = False
            return

    async def close(self) -> None:
        try:
            await super().close()
        except UNAVAILABLE:
            # Redis is away: arq stopped at deleting its health key; finish what it left.
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            await self.pool.aclose()
            self._pool = None
