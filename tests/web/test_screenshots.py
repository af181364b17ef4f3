"""The README's screenshots: the home and a product page in the light and the dark theme, as
the tests' chromium paints them on a desktop, for a small shop with drawn pictures.

Every run renders them and checks that each is a real page on the right background; with
SHOPFLOW_SCREENSHOTS=1 (`make screenshots`) they are also written to docs/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import pyvips
from aiohttp import web
from PIL import Image

from shopflow.keys import MEDIA_STORAGE
from tests.catalog.conftest import LADDER, add_category, add_media, add_product
from tests.web.browser import Chromium, Look
from tests.web.showroom import draw

OUT = Path(__file__).parents[2] / "docs" / "screenshots"
WRITE = os.environ.get("SHOPFLOW_SCREENSHOTS") == "1"
MAX_BYTES = 150 * 1024
BACKGROUND = {"light": (255, 255, 255), "dark": (17, 17, 17)}  # app.css's --bg
WIDTHS = (320, 640, 960)
PRODUCTS = [  # name, price, units, category, description
    ("Stoneware Pour-Over Set", 4800, 12, "Kitchen", "A dripper, a carafe and two cups, glazed by hand."),
    ("Walnut Desk Lamp", 12900, 4, "Lighting", "Solid walnut and brushed brass, with a warm dimmable bulb."),
    ("Merino Throw Blanket", 8900, 9, "Textiles", "Soft, warm and light: woven from Australian merino."),
    ("Copper Kettle", 6400, 0, "Kitchen", "Copper outside, stainless steel inside; whistles when ready."),
    (
        "Linen Table Runner",
        3200,
        20,
        "Textiles",
        "Stonewashed Lithuanian linen that softens with every wash.",
    ),
    ("Ceramic Bud Vase", 2400, 15, "Living", "A small vase for a single stem, in speckled white clay."),
    ("Oak Serving Board", 3900, 7, "Kitchen", "Cut from one piece of FSC oak, finished with food-safe oil."),
    ("Rattan Pendant Light", 9800, 3, "Lighting", "Hand-woven rattan that throws a soft patterned light."),
]
SHOWN = "walnut-desk-lamp"


def picture(drawn: pyvips.Image, width: int, fmt: str) -> bytes:
    """A drawn picture at this width, in this format."""
    suffix = {"avif": ".avif[effort=0]", "webp": ".webp", "jpeg": ".jpg"}[fmt]
    return bytes(drawn.resize(width / drawn.width).write_to_buffer(suffix))


@pytest.fixture
async def showroom(client: Any, app: web.Application, staff: dict[str, str], db: Any) -> str:
    """A small shop with a drawn picture for every product, served on a real port; its base URL."""
    categories = {
        name: await add_category(client, staff, name.lower())
        for name in ("Kitchen", "Living", "Lighting", "Textiles")
    }
    for n, (name, price, units, category, description) in enumerate(PRODUCTS):
        product = await add_product(
            client,
            staff,
            name,
            price=price,
            on_hand=units,
            category=categories[category],
            description=description,
        )
        media = await add_media(db, alt=name)
        sha = await db.fetchval("SELECT sha256 FROM media WHERE id = $1", media)
        made = [
            {
                "width": w,
                "height": w * 3 // 4,
                "format": fmt,
                "key": f"variants/{sha}/{LADDER}/{w}.{ext}",
                "bytes": 1,
            }
            for w in WIDTHS
            for fmt, ext in (("avif", "avif"), ("webp", "webp"), ("jpeg", "jpg"))
        ]
        drawn = draw(n).copy_memory()
        for v in made:
            data = picture(drawn, v["width"], v["format"])
            await app[MEDIA_STORAGE].put(v["key"], data, f"image/{v['format']}")
        await db.execute(
            "UPDATE media SET width = 960, height = 720, variants = $2::text::jsonb WHERE id = $1",
            media,
            json.dumps(made),
        )
        resp = await client.post(
            f"/api/v1/products/{product['id']}/images", json={"media_id": media, "alt": name}, headers=staff
        )
        assert resp.status == 201, await resp.text()
    return str(client.make_url("")).rstrip("/")


async def shoot(chromium: Chromium, base: str, path: str, theme: str) -> bytes:
    async def run() -> bytes:
        look = Look(theme=theme, scheme=theme)  # type: ignore[arg-type]
        async with chromium.page(base, look) as (page, problems):
            resp = await page.goto(path, wait_until="load")
            assert resp is not None and resp.status == 200, path
            # every picture in view fetched and decoded before the shot
            await page.evaluate(
                "Promise.all([...document.images]"
                ".filter(i => i.getBoundingClientRect().top < innerHeight)"
                ".map(i => i.complete ? i.decode().catch(() => {})"
                " : new Promise(r => i.onload = i.onerror = r)))"
            )
            assert await page.evaluate(
                "[...document.images].filter(i => i.getBoundingClientRect().top < innerHeight)"
                ".every(i => i.complete && i.naturalWidth > 0)"
            ), path
            assert await problems.collect(page) == [], path
            return await page.screenshot(animations="disabled")

    return await chromium.run(run())


def small_png(png: bytes) -> bytes:
    """The shot in 256 colours: a page of text and flat colour stays crisp, at a fraction
    of the bytes."""
    with Image.open(io.BytesIO(png)) as image:
        out = io.BytesIO()
        image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, "PNG", optimize=True
        )
        return out.getvalue()


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_the_readme_screenshots(chromium: Chromium, showroom: str, theme: str) -> None:
    for name, path in (("home", "/"), ("product", f"/p/{SHOWN}")):
        png = small_png(await shoot(chromium, showroom, path, theme))
        with Image.open(io.BytesIO(png)) as image:
            rgb = image.convert("RGB")
            assert rgb.size == (1280, 800), name
            assert rgb.getpixel((2, 2)) == BACKGROUND[theme], (name, theme)  # the theme's background
            colours = rgb.getcolors(maxcolors=1 << 16) or []
            assert len(colours) > 64, (name, theme)  # text, pictures and controls, not an empty page
            share = max(count for count, _ in colours) / (rgb.width * rgb.height)
            assert 0.3 < share < 0.95, (name, theme, share)  # mostly background, with content on it
        assert len(png) <= MAX_BYTES, (name, theme, len(png))
        if WRITE:
            OUT.mkdir(parents=True, exist_ok=True)
            (OUT / f"{name}-{theme}.png").write_bytes(png)
