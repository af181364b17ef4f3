"""A small shop built through the staff API, for the storefront's pages; a real browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import pyvips
from aiohttp import web

from shopflow.keys import MEDIA_STORAGE
from tests.catalog.conftest import Catalog, add_media, build_catalog
from tests.web.browser import Chromium

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


SHOP = [
    ("Red Ceramic Mug", 1200, 5, "kitchen", "A sturdy mug <b>for</b> your morning coffee."),
    ("Coffee Grinder", 4500, 0, "kitchen", "Grinds beans evenly."),
    ("Garden Hose", 2500, 3, "garden", "Waters plants."),
    ("Blue Mug", 900, 2, "home", "A small mug."),
]


@pytest.fixture
async def shop(client: Any, staff: dict[str, str], db: Any) -> Catalog:
    c = await build_catalog(client, staff, SHOP)
    media = await add_media(db, alt="A red mug on a table")
    resp = await client.post(
        f"/api/v1/products/{c.products['red-ceramic-mug']['id']}/images",
        json={"media_id": media, "alt": "A red mug on a table"},
        headers=staff,
    )
    assert resp.status == 201, await resp.text()
    return c


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """One chromium for the whole session (a missing browser fails, never skips)."""
    browser = Chromium()
    yield browser
    browser.close()


@pytest.fixture
async def storefront(client: Any, app: web.Application, shop: Catalog, db: Any) -> str:
    """The shop served on a real TCP port, its images' variants stored as real pictures (a
    browser fetches them); the base URL."""
    colour = pyvips.Image.black(1, 1, bands=3).new_from_image([176, 64, 48])
    for variants in await db.fetch("SELECT variants FROM media WHERE status = 'ready'"):
        for v in json.loads(variants["variants"]):
            image = colour.resize(v["width"], vscale=v["height"]).cast("uchar")
            suffix = {"avif": ".avif", "webp": ".webp", "jpeg": ".jpg"}[v["format"]]
            await app[MEDIA_STORAGE].put(v["key"], image.write_to_buffer(suffix), f"image/{v['format']}")
    return str(client.make_url("")).rstrip("/")
