"""What other components may call."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from ..platform.db import Executor
from . import queries
from .models import MediaStatus, Picture, Source
from .pictures import picture_of, placeholder_url

__all__ = ["MediaStatus", "Picture", "Source", "media_status", "pictures", "placeholder_url"]


async def media_status(ex: Executor, media_id: UUID) -> MediaStatus | None:
    """The media's status, or None when there is no such media."""
    status = await queries.fetch_status(ex, media_id)
    return MediaStatus(status) if status is not None else None


async def pictures(ex: Executor, media_ids: Collection[UUID], cdn_url: str) -> dict[UUID, Picture]:
    """The pictures of those of `media_ids` that are ready (one query); the others are absent."""
    if not media_ids:
        return {}
    rows = await queries.fetch_ready(ex, media_ids)
    return {
        r["id"]: picture_of(r["width"], r["height"], r["placeholder"], r["variants"], cdn_url) for r in rows
    }
