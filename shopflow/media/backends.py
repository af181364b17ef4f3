"""The media storage the settings name, for the web process and the workers alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..platform.settings import Settings, SettingsError
from .local import LocalStorage
from .storage import Storage


@asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    """The configured storage while this lasts (S3's connections are closed after)."""
    if settings.media_storage == "s3":
        if not settings.media_s3_bucket:
            raise SettingsError("media_s3_bucket must name a bucket when media_storage is s3")
        from .s3 import S3Options, S3Storage  # botocore adds ~0.1 s to every start: only when used

        async with S3Storage.connect(S3Options.from_settings(settings)) as s3:
            yield s3
    else:
        yield LocalStorage(settings.media_local_dir or settings.data_dir / "media")
