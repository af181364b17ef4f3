"""What a worker tells Prometheus, on its own port (`worker_metrics_port`, on `host`):

    worker_jobs_total{function,outcome}          counter: success, failure, retry, timeout
    worker_job_duration_seconds{function}        histogram
    worker_queue_depth                           gauge: jobs in the arq queue
    outbox_pending{outbox}                       gauge: job and mail outbox rows not done yet
    outbox_oldest_pending_age_seconds{outbox}    gauge: 0 when there are none

and the business counters of what its jobs do (orders expired, payments reconciled,
refunds). The gauges are read when scraped and say the same in every worker: aggregate
them across workers with max, not sum.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from arq.connections import ArqRedis
from arq.cron import CronJob
from arq.worker import Function, Retry, RetryJob
from prometheus_client import CONTENT_TYPE_LATEST

from shopflow.platform import mail, outbox
from shopflow.platform.db import Database
from shopflow.platform.metrics import Labels, Metrics

log = logging.getLogger("shopflow.worker")
JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OUTCOMES = ("success", "failure", "retry", "timeout")
BACKSTOP = 1.0  # seconds arq's own timeout waits beyond the job's, so that the job's fires first
READ_TIMEOUT = 2.0  # seconds a scrape waits for Redis and PostgreSQL
Job = TypeVar("Job", Function, CronJob)


class JobMetrics:
    """Jobs counted by function and outcome, and timed."""

    def __init__(self, metrics: Metrics) -> None:
        self.jobs = metrics.counter(
            "worker_jobs", "Jobs run, by function and how they ended", ("function", "outcome")
        )
        self.duration = metrics.histogram(
            "worker_job_duration_seconds", "Time a job ran, however it ended", ("function",), JOB_BUCKETS
        )

    def measured(self, job: Job, default_timeout: float) -> Job:
        """The job, counted and timed. Its timeout is enforced here (arq's comes a little
        later), so that a job cut off is told apart from one that failed, as arq tells
        them apart in its log (TimeoutError)."""
        name, coroutine = job.name, job.coroutine
        limit = job.timeout_s or default_timeout
        for outcome in OUTCOMES:
            self.jobs.inc(name, outcome, amount=0)

        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            start, outcome = time.perf_counter(), "failure"
            deadline = asyncio.timeout(limit)
            try:
                async with deadline:
                    result = await coroutine(ctx, *args, **kwargs)
                outcome = "success"
                return result
            except TimeoutError:
                if deadline.expired():
                    outcome = "timeout"
                raise
            except (Retry, RetryJob, asyncio.CancelledError):
                outcome = "retry"  # arq runs it again (a worker shutting down cancels its jobs)
                raise
            finally:
                self.jobs.inc(name, outcome)
                self.duration.observe((name,), time.perf_counter() - start)

        return dataclasses.replace(job, coroutine=run, timeout_s=limit + BACKSTOP)


class Backlog:
    """What waits: the arq queue and the two outboxes, read when scraped."""

    def __init__(self, metrics: Metrics, queue_name: str) -> None:
        self.queue_name = queue_name
        self.depth: dict[Labels, float] = {}
        self.pending: dict[Labels, float] = {}
        self.oldest: dict[Labels, float] = {}
        metrics.gauges(
            "worker_queue_depth",
            "Jobs in the arq queue: waiting, deferred or running",
            (),
            lambda: self.depth,
            aggregate="max",
        )
        metrics.gauges(
            "outbox_pending", "Outbox rows not done yet", ("outbox",), lambda: self.pending, aggregate="max"
        )
        metrics.gauges(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row not done yet (0 when none)",
            ("outbox",),
            lambda: self.oldest,
            aggregate="max",
        )

    async def read(self, redis: ArqRedis, db: Database) -> None:
        """Read them now; what cannot be read is left out of this scrape."""
        self.depth, self.pending, self.oldest = {}, {}, {}
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                self.depth[()] = await redis.zcard(self.queue_name)
        except Exception as e:
            log.warning("could not read the queue depth: %r", e)
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                for name, backlog in (("job", outbox.backlog), ("mail", mail.backlog)):
                    self.pending[(name,)], self.oldest[(name,)] = await backlog(db)
        except Exception as e:
            log.warning("could not read the outboxes: %r", e)


async def serve_metrics(
    metrics: Metrics, read: Callable[[], Awaitable[None]], host: str, port: int
) -> web.AppRunner:
    """A small HTTP server answering GET /metrics; cleaned up by the caller."""

    async def scrape(request: web.Request) -> web.Response:
        await read()
        return web.Response(body=await metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("worker metrics", extra={"host": host, "port": port})
    return runner
