"""The users component's jobs: the notices a product's change calls for, and the cleaning
up of guests' lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from uuid import UUID

from arq.connections import ArqRedis

from ..catalog.interface import ProductChange
from ..jobs import JobContext, job_context
from ..platform.mail import enqueue_mail
from . import wishlist_queries
from .notices import notify_watchers


async def product_changed(
    conn: Any, context: JobContext, product_id: str, change: str
) -> Callable[[], Awaitable[None]] | None:
    """Outbox job: mail the customers waiting on the product what changed, once per change;
    the mail is handed to the workers once the job has committed."""
    mail_ids = await notify_watchers(
        conn, context.settings.public_url, UUID(product_id), ProductChange(change)
    )
    return partial(_send, context.queue, mail_ids) if mail_ids else None


async def _send(queue: ArqRedis, mail_ids: list[UUID]) -> None:
    for mail_id in mail_ids:
        await enqueue_mail(queue, mail_id)


async def expire_guest_wishlists(ctx: dict[str, Any]) -> int:
    """Delete guests' lists idle past their time; idempotent by nature."""
    return await wishlist_queries.delete_expired_guest_lists(job_context(ctx).db)
