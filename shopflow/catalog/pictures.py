"""Images as the catalog's documents show them: a product's image rows, with the pictures
the media component gives for those of their media that are ready."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from ..media.interface import Picture, pictures
from ..platform.db import Executor
from ..platform.jsonx import dumps


@dataclass(frozen=True)
class ImageRef:
    """A product image as a document names it: its id, its media, its alt text."""

    id: UUID
    media_id: UUID
    alt: str


@dataclass(frozen=True)
class PlacedImage:
    """An image staff placed on a product; `picture` is None until its media is ready."""

    id: UUID
    product_id: UUID
    media_id: UUID
    alt: str
    position: int
    picture: Picture | None


def image_refs(row: asyncpg.Record) -> list[ImageRef]:
    """The images of a product row that carries their arrays (queries' `_IMAGES`), in order."""
    ids = row["image_ids"]
    if ids is None:
        return []
    return [ImageRef(*image) for image in zip(ids, row["image_media"], row["image_alts"], strict=True)]


def image_json(ref: ImageRef, picture: Picture) -> dict[str, Any]:
    return {
        "id": ref.id,
        "media_id": ref.media_id,
        "alt": ref.alt,
        "width": picture.width,
        "height": picture.height,
        "placeholder": picture.placeholder,
        "url": picture.url,
        "srcset": picture.srcset,
        "sources": picture.sources,  # Source dataclasses: {type, srcset}
    }


def placed_json(image: PlacedImage) -> dict[str, Any]:
    """The `ProductImage` answer: the picture's fields null while the media is not ready."""
    ref = ImageRef(image.id, image.media_id, image.alt)
    if image.picture is not None:
        shown = image_json(ref, image.picture)
    else:
        shown = {"id": ref.id, "media_id": ref.media_id, "alt": ref.alt, "sources": []}
        shown |= dict.fromkeys(("width", "height", "placeholder", "url", "srcset"))
    return {**shown, "product_id": image.product_id, "position": image.position}


def _with_member(doc: str, name: bytes, value: bytes) -> bytes:
    """`doc`, a JSON object as PostgreSQL's json_build_object writes it (so it ends with its
    closing brace), with one more member; cheaper than parsing the document again."""
    return doc.encode()[:-1] + b', "' + name + b'" : ' + value + b"}"


async def product_document(ex: Executor, row: asyncpg.Record, cdn_url: str) -> bytes:
    """A product row's document with its `images`: those whose media are ready, in order.
    One query to the media component, none when the product has no images."""
    refs = image_refs(row)
    ready = await pictures(ex, {ref.media_id for ref in refs}, cdn_url)
    images = [image_json(ref, ready[ref.media_id]) for ref in refs if ref.media_id in ready]
    return _with_member(row["doc"], b"images", dumps(images))


async def summary_documents(ex: Executor, rows: Sequence[asyncpg.Record], cdn_url: str) -> list[bytes]:
    """Listing rows' summaries, each with its `thumbnail`: its first image that is ready, or
    null. The media component is asked for every product's first image at once, and again,
    at once, for the other images of the products whose first is not ready yet: at most two
    queries, whatever the page's length."""
    refs = [image_refs(row) for row in rows]
    firsts = {images[0].media_id for images in refs if images}
    ready = await pictures(ex, firsts, cdn_url)
    rest = {
        image.media_id
        for images in refs
        if images and images[0].media_id not in ready
        for image in images[1:]
        if image.media_id not in firsts
    }
    if rest:
        ready |= await pictures(ex, rest, cdn_url)
    docs = []
    for row, images in zip(rows, refs, strict=True):
        first = next((image for image in images if image.media_id in ready), None)
        thumbnail = dumps(image_json(first, ready[first.media_id])) if first is not None else b"null"
        docs.append(_with_member(row["doc"], b"thumbnail", thumbnail))
    return docs
