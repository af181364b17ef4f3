"""The media component's jobs, run by the workers through the job outbox."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from ..catalog.interface import media_changed
from ..platform.outbox import Leased
from .ladder import Ladder
from .models import MediaStatus
from .storage import Storage
from .variants import make_variants

if TYPE_CHECKING:
    from ..jobs import JobContext


@dataclass(frozen=True)
class MediaWork:
    """What a worker makes variants with: the storage, the ladder the settings name, and
    its slots (images worked on at once, `media_jobs_at_once`)."""

    storage: Storage
    ladder: Ladder
    slots: asyncio.Semaphore


async def process_media(context: JobContext, media_id: str) -> MediaStatus | None:
    """Outbox job (leased: no transaction is open while pixels are worked on): make a media's
    ladder of variants, then let the catalog show it; its status after."""
    work = context.media
    async with work.slots:
        status = await make_variants(context.db, work.storage, work.ladder, UUID(media_id))
    if status is MediaStatus.READY:
        await media_changed(context.db, context.cache, [UUID(media_id)])
    return status


PROCESS_MEDIA = Leased(process_media)
