"""The media component's vocabulary and HTTP models."""

from __future__ import annotations

from enum import StrEnum


class MediaStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
