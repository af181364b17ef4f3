"""The outbox's jobs as arq runs them: every component's outbox handlers, by name."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from shopflow.catalog.interface import PRODUCT_CHANGED
from shopflow.checkout.tasks import refund_order
from shopflow.jobs import job_context
from shopflow.media.tasks import PROCESS_MEDIA
from shopflow.platform.outbox import Handler, Leased, enqueue_job, pending_jobs, run_outbox_job
from shopflow.users.tasks import product_changed

HANDLERS: dict[str, Handler | Leased] = {
    "refund_order": refund_order,
    "process_media": PROCESS_MEDIA,
    PRODUCT_CHANGED: product_changed,
}


async def run_job(ctx: dict[str, Any], job_id: str) -> bool:
    """Run one outbox job, once, whatever the number of deliveries."""
    context = job_context(ctx)
    return await run_outbox_job(context.db, HANDLERS, context, UUID(job_id), context.settings.job_lease)


async def relay_jobs(ctx: dict[str, Any]) -> int:
    """Enqueue again outbox jobs still pending a minute after they were written."""
    context = job_context(ctx)
    pending = await pending_jobs(context.db)
    minute = int(time.time() // 60)
    for job_id in pending:
        await enqueue_job(context.queue, job_id, attempt=f"relay-{minute}")
    return len(pending)
