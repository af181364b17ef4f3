"""The arq worker: its context (pools), its job functions and its cron schedule.

Job functions are added here as components grow them (`shopflow/<component>/tasks.py`).
Every job is idempotent: arq delivers at least once.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any
from uuid import UUID

from arq import cron

from shopflow.checkout.providers import build_payments
from shopflow.checkout.tasks import clean_up, expire_orders, reconcile_payments, relay_jobs, run_job
from shopflow.platform import mail
from shopflow.platform.db import Database, create_pool
from shopflow.platform.redisx import connect
from shopflow.platform.settings import Settings
from workers.worker import SteadyWorker

HEARTBEAT_KEY = "shopflow:worker:heartbeat"
HEARTBEAT_TTL = 90


async def startup(ctx: dict[str, Any]) -> None:
    if "db" in ctx:  # started already: main() began again after Redis went away
        return
    settings: Settings = ctx["settings"]
    pool = await create_pool(
        settings.database_url, min_size=1, max_size=5, statement_timeout=settings.db_statement_timeout
    )
    ctx["db"] = Database(pool, settings.db_acquire_timeout)
    ctx["payments"] = build_payments(settings)
    ctx["worker_id"] = f"{socket.gethostname()}:{os.getpid()}"


async def shutdown(ctx: dict[str, Any]) -> None:
    if "db" in ctx:
        await ctx["db"].pool.close()
    if "payments" in ctx:
        await ctx["payments"].close()


async def heartbeat(ctx: dict[str, Any]) -> float:
    """Record that a worker takes jobs and reaches PostgreSQL; idempotent by nature."""
    await ctx["db"].fetchval("SELECT 1")
    now = time.time()
    await ctx["redis"].set(HEARTBEAT_KEY, f"{ctx['worker_id']} {now:.3f}", ex=HEARTBEAT_TTL)
    return now


async def send_mail(ctx: dict[str, Any], mail_id: str) -> bool:
    """Send one outbox mail; a second run finds it sent and does nothing."""
    return await mail.send_mail(ctx["db"], ctx["settings"], UUID(mail_id))


async def relay_mail(ctx: dict[str, Any]) -> int:
    """Enqueue again the mail still unsent a minute after it was written."""
    unsent = await mail.unsent_mail(ctx["db"])
    minute = int(time.time() // 60)
    for mail_id in unsent:
        await mail.enqueue_mail(ctx["redis"], mail_id, attempt=f"relay-{minute}")
    return len(unsent)


FUNCTIONS: list[Any] = [heartbeat, send_mail, run_job]
CRON_JOBS = [
    cron(heartbeat, second={0, 30}, run_at_startup=True, timeout=20),
    cron(relay_mail, second=15, timeout=60),
    cron(expire_orders, second=5, run_at_startup=True, timeout=50),
    cron(relay_jobs, second=25, timeout=60),
    cron(reconcile_payments, minute=set(range(0, 60, 5)), second=50, timeout=240),
    cron(clean_up, minute=17, second=40, timeout=300),
]


def build_worker(settings: Settings, **overrides: Any) -> SteadyWorker:
    """An arq Worker for `settings` that rides out Redis outages; construct it inside the
    running event loop."""
    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "redis_pool": connect(settings.redis_url, settings.redis_timeout),
        "on_startup": startup,
        "on_shutdown": shutdown,
        "ctx": {"settings": settings},
        "max_jobs": 20,
        "job_timeout": 300,
        "keep_result": 3600,
        "health_check_interval": 30,
    }
    options.update(overrides)
    return SteadyWorker(**options)
