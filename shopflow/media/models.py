"""The media component's vocabulary, records and HTTP models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from ..platform.endpoint import Query
from ..platform.models import CURSOR, Page
from .ladder import VariantFormat


class MediaStatus(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class Source:
    """One `<source>` of a `<picture>`: a modern encoding's srcset."""

    type: str  # image/avif, image/webp
    srcset: str


@dataclass(frozen=True)
class Picture:
    """Everything a page needs to show a ready image with no layout shift: its size, a
    placeholder to paint first, the JPEG `<img>` (url, srcset) and the AVIF/WebP sources."""

    width: int
    height: int
    placeholder: str
    url: str
    srcset: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class VariantRef:
    """One stored variant, as clients fetch it."""

    width: int
    height: int
    format: VariantFormat
    url: str
    bytes: int


@dataclass(frozen=True)
class Failure:
    code: str
    detail: str


@dataclass(frozen=True)
class Media:
    """An upload and what became of it: the picture's fields are None until it is ready."""

    id: UUID
    status: MediaStatus
    error: Failure | None
    alt: str
    content_type: str
    bytes: int
    width: int | None
    height: int | None
    placeholder: str | None
    variants: tuple[VariantRef, ...]
    url: str | None
    srcset: str | None
    sources: tuple[Source, ...]
    created_at: datetime


class SourceOut(BaseModel):
    type: str
    srcset: str


class VariantOut(BaseModel):
    width: int
    height: int
    format: VariantFormat
    url: str
    bytes: int


class ErrorOut(BaseModel):
    code: str
    detail: str


class MediaOut(BaseModel):
    """A media as `GET /api/v1/media/{id}` answers it; the picture's fields are null until it is ready."""

    id: UUID
    status: MediaStatus
    error: ErrorOut | None = None
    alt: str
    content_type: str
    bytes: int
    width: int | None
    height: int | None
    placeholder: str | None
    variants: list[VariantOut]
    url: str | None
    srcset: str | None
    sources: list[SourceOut]
    created_at: datetime


class Accepted(BaseModel):
    id: UUID
    status: MediaStatus


class MediaPage(Page):
    items: list[MediaOut]


class MediaQuery(Query):
    limit: int = Field(24, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512, pattern=CURSOR, description="`next_cursor` of a page")
