"""The arq worker: its context (pools), its job functions and its cron schedule.

Job functions are added here as components grow them (`shopflow/<component>/tasks.py`).
Every job is idempotent: arq delivers at least once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

from arq import cron
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from arq.utils import to_seconds
from arq.worker import func

from shopflow.app import build_cache, build_checkout, running
from shopflow.checkout.tasks import EXPIRY_RUN, clean_up, expire_orders, reconcile_payments
from shopflow.jobs import KEY, JobContext, job_context
from shopflow.media.backends import open_storage
from shopflow.media.ladder import ladder_of
from shopflow.media.tasks import MediaWork
from shopflow.platform import mail
from shopflow.platform.db import Database
from shopflow.platform.metrics import Metrics
from shopflow.platform.redisx import connect
from shopflow.platform.settings import Settings
from shopflow.users.tasks import expire_guest_wishlists
from workers.worker import SteadyWorker

from .metrics import Backlog, JobMetrics, serve_metrics
from .outbox import relay_jobs, run_job

HEARTBEAT_KEY = "shopflow:worker:heartbeat"
HEARTBEAT_TTL = 90
JOB_TIMEOUT = 300  # seconds, for jobs that name none


async def startup(ctx: dict[str, Any]) -> None:
    if KEY in ctx:  # started already: main() began again after Redis went away
        return
    settings: Settings = ctx["settings"]
    metrics: Metrics = ctx["metrics"]
    redis: ArqRedis = ctx["redis"]
    db = await Database.open(settings, min_size=1, max_size=5)
    cache = build_cache(settings, redis, metrics)
    checkout = build_checkout(settings, db, redis, cache, metrics)
    ctx["resources"] = stack = AsyncExitStack()
    storage = await stack.enter_async_context(open_storage(settings))
    media = MediaWork(storage, ladder_of(settings), asyncio.Semaphore(settings.media_jobs_at_once))
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    ctx[KEY] = JobContext(settings, db, redis, cache, checkout, media, worker_id)
    await stack.enter_async_context(running(checkout.stock))
    if settings.worker_metrics_port:
        backlog: Backlog = ctx["backlog"]
        ctx["metrics_server"] = await serve_metrics(
            metrics, lambda: backlog.read(redis, db), settings.host, settings.worker_metrics_port
        )


async def shutdown(ctx: dict[str, Any]) -> None:
    if "metrics_server" in ctx:
        await ctx["metrics_server"].cleanup()
    if "resources" in ctx:
        await ctx["resources"].aclose()  # the last stock notices go out before the pools close
    if KEY in ctx:
        context = job_context(ctx)
        await context.db.pool.close()
        await context.checkout.payments.close()


async def heartbeat(ctx: dict[str, Any]) -> float:
    """Record that a worker takes jobs and reaches PostgreSQL; idempotent by nature."""
    context = job_context(ctx)
    await context.db.fetchval("SELECT 1")
    now = time.time()
    await context.queue.set(HEARTBEAT_KEY, f"{context.worker_id} {now:.3f}", ex=HEARTBEAT_TTL)
    return now


async def send_mail(ctx: dict[str, Any], mail_id: str) -> bool:
    """Send one outbox mail; a second run finds it sent and does nothing."""
    context = job_context(ctx)
    return await mail.send_mail(context.db, context.settings, UUID(mail_id))


async def relay_mail(ctx: dict[str, Any]) -> int:
    """Enqueue again the mail still unsent a minute after it was written."""
    context = job_context(ctx)
    unsent = await mail.unsent_mail(context.db)
    minute = int(time.time() // 60)
    for mail_id in unsent:
        await mail.enqueue_mail(context.queue, mail_id, attempt=f"relay-{minute}")
    return len(unsent)


FUNCTIONS: list[Any] = [heartbeat, send_mail, run_job]
CRON_JOBS = [
    cron(heartbeat, second={0, 30}, run_at_startup=True, timeout=20),
    cron(relay_mail, second=15, timeout=60),
    cron(expire_orders, second=5, run_at_startup=True, timeout=EXPIRY_RUN + 10),
    cron(relay_jobs, second=25, timeout=60),
    cron(reconcile_payments, minute=set(range(0, 60, 5)), second=50, timeout=240),
    cron(clean_up, minute=17, second=40, timeout=300),
    cron(expire_guest_wishlists, minute=47, second=40, timeout=300),
]


def build_worker(settings: Settings, **overrides: Any) -> SteadyWorker:
    """An arq Worker for `settings` that rides out Redis outages, its jobs counted and timed;
    construct it inside the running event loop."""
    metrics = Metrics()
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "redis_pool": connect(settings.redis_url, settings.redis_timeout),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {"settings": settings, "metrics": metrics},
        "max_jobs": 20,
        "job_timeout": JOB_TIMEOUT,
        "keep_result": 3600,
        "health_check_interval": 30,
    }
    options.update(overrides)
    jobs, timeout = JobMetrics(metrics), to_seconds(options["job_timeout"]) or JOB_TIMEOUT
    options["functions"] = [jobs.measured(func(f), timeout) for f in options["functions"]]
    options["cron_jobs"] = [jobs.measured(c, timeout) for c in options["cron_jobs"]]
    options["ctx"]["backlog"] = Backlog(metrics, options.get("queue_name") or default_queue_name)
    return SteadyWorker(**options)
