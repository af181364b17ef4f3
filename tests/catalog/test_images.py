"""Product images: staff place, move and remove media on products; the detail shows the
ready ones in order, every summary its first ready one, and the caches follow."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from shopflow.catalog.interface import media_changed
from shopflow.catalog.models import MAX_IMAGES
from shopflow.keys import CACHE, DB
from tests.catalog.conftest import LADDER, Catalog, add_media, add_product, variants
from tests.client import expect
from tests.conftest import sign_in


async def make_ready(db: asyncpg.Connection, media_id: str) -> None:
    """What the worker does when it has made the variants."""
    sha = await db.fetchval("SELECT sha256 FROM media WHERE id = $1", UUID(media_id))
    await db.execute(
        """UPDATE media SET status = 'ready', width = 640, height = 480, placeholder = 'AAAA',
                  ladder = $2, variants = $3::jsonb WHERE id = $1""",
        UUID(media_id),
        LADDER,
        json.dumps(variants(sha)),
    )


def product_of(catalog: Catalog, name: str) -> dict[str, Any]:
    return next(p for p in catalog.products.values() if p["name"] == name)


async def attach(
    client: Any,
    staff: dict[str, str],
    product: str,
    media_id: str,
    status: int = 201,
    code: str | None = None,
    **fields: Any,
) -> Any:
    """POST an image of `media_id` (with `fields`) to the product; the answer, checked."""
    resp = await client.post(
        f"/api/v1/products/{product}/images", json={"media_id": media_id, **fields}, headers=staff
    )
    return await expect(resp, status, code)


async def detail(client: Any, product: str) -> dict[str, Any]:
    return dict(await expect(await client.get(f"/api/v1/products/{product}"), 200))


async def positions(db: asyncpg.Connection, product: str) -> list[tuple[str, int]]:
    """The product's images as (id, position), in order."""
    rows = await db.fetch(
        "SELECT id, position FROM product_images WHERE product_id = $1 ORDER BY position", UUID(product)
    )
    return [(str(r["id"]), r["position"]) for r in rows]


async def assert_contiguous(db: asyncpg.Connection, product: str) -> list[str]:
    """The image ids in order, once their positions are checked to be 0..n-1."""
    found = await positions(db, product)
    assert [p for _, p in found] == list(range(len(found))), found
    return [i for i, _ in found]


@pytest.fixture
async def mug(catalog: Catalog) -> str:
    return str(product_of(catalog, "Red Ceramic Mug")["id"])


async def test_only_staff_place_images(
    client: Any, app: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    media = await add_media(db)
    image = await attach(client, staff, mug, media)
    customer = await sign_in(client, app, "ada@shop.example")
    for headers, status, code in (({}, 401, "invalid_token"), (customer, 403, "forbidden")):
        post = await client.post(f"/api/v1/products/{mug}/images", json={"media_id": media}, headers=headers)
        await expect(post, status, code)
        url = f"/api/v1/products/{mug}/images/{image['id']}"
        await expect(await client.patch(url, json={"alt": "x"}, headers=headers), status, code)
        await expect(await client.delete(url, headers=headers), status, code)
    assert len(await positions(db, mug)) == 1


async def test_the_answer_is_the_image_with_its_picture_once_ready(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    ready, processing = await add_media(db), await add_media(db, "processing")
    shown = await attach(client, staff, mug, ready, alt="A red mug")
    assert shown["media_id"] == ready and shown["product_id"] == mug
    assert (shown["alt"], shown["position"], shown["width"], shown["height"]) == ("A red mug", 0, 640, 480)
    assert shown["placeholder"] == "AAAA"
    assert shown["url"].endswith("/320.jpg")
    assert [s["type"] for s in shown["sources"]] == ["image/avif", "image/webp"]

    waiting = await attach(client, staff, mug, processing)  # accepted: it shows once ready
    assert waiting["alt"] == "" and waiting["position"] == 1 and waiting["sources"] == []
    for name in ("width", "height", "placeholder", "url", "srcset"):
        assert waiting[name] is None


async def test_unknown_and_failed_media_are_refused(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    problem = await attach(client, staff, mug, str(uuid4()), 422, code="unknown_media")
    assert problem["errors"] == [{"field": "media_id", "message": "unknown"}]
    await attach(client, staff, mug, await add_media(db, "failed"), 422, code="media_failed")
    for body in ({}, {"media_id": "not-a-uuid"}, {"media_id": str(uuid4()), "extra": 1}):
        resp = await client.post(f"/api/v1/products/{mug}/images", json=body, headers=staff)
        await expect(resp, 422, "validation_failed")
    media = await add_media(db)
    await attach(client, staff, mug, media, 422, code="validation_failed", alt="x" * 501)
    await attach(client, staff, mug, media, 422, code="validation_failed", position=MAX_IMAGES)
    await attach(client, staff, mug, media, 422, code="validation_failed", position=-1)
    assert await positions(db, mug) == []


async def test_unknown_products_and_images_are_404(
    client: Any, staff: dict[str, str], catalog: Catalog, mug: str, db: asyncpg.Connection
) -> None:
    media = await add_media(db)
    for product in (str(uuid4()), "red-ceramic-mug", "nothing"):
        await attach(client, staff, product, media, 404)
    await attach(client, staff, str(uuid4()), media, 404, code="product_not_found")
    image = (await attach(client, staff, mug, media))["id"]
    hose = str(product_of(catalog, "Garden Hose")["id"])
    for product, image_id, code in (
        (hose, image, "image_not_found"),  # the mug's image, through another product
        (mug, str(uuid4()), "image_not_found"),
        (str(uuid4()), image, "product_not_found"),
    ):
        url = f"/api/v1/products/{product}/images/{image_id}"
        await expect(await client.patch(url, json={"alt": "x"}, headers=staff), 404, code)
        await expect(await client.delete(url, headers=staff), 404, code)
    await expect(await client.delete(f"/api/v1/products/{mug}/images/nope", headers=staff), 404)
    assert [i for i, _ in await positions(db, mug)] == [image]


async def test_positions_stay_contiguous_through_inserts_moves_and_deletes(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    media = await add_media(db)  # one media, several times: allowed
    a, b, c = [(await attach(client, staff, mug, media, alt=name))["id"] for name in "abc"]
    assert await assert_contiguous(db, mug) == [a, b, c]
    d = (await attach(client, staff, mug, media, position=0))["id"]
    assert await assert_contiguous(db, mug) == [d, a, b, c]
    e = (await attach(client, staff, mug, media, position=2))["id"]
    assert await assert_contiguous(db, mug) == [d, a, e, b, c]
    f = (await attach(client, staff, mug, media, position=40))["position"]  # past the end: the end
    assert f == 5

    async def move(image: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"/api/v1/products/{mug}/images/{image}"
        return dict(await expect(await client.patch(url, json=body, headers=staff), 200))

    ids = await assert_contiguous(db, mug)
    assert (await move(d, {"position": 3}))["position"] == 3
    assert await assert_contiguous(db, mug) == [a, e, b, d, c, ids[5]]
    assert (await move(c, {"position": 0, "alt": "first"}))["alt"] == "first"
    assert await assert_contiguous(db, mug) == [c, a, e, b, d, ids[5]]
    assert (await move(a, {"position": 49}))["position"] == 5  # past the end: the last
    assert await assert_contiguous(db, mug) == [c, e, b, d, ids[5], a]
    moved = await move(b, {"alt": "only the text"})
    assert (moved["position"], moved["alt"]) == (2, "only the text")
    await expect(await client.patch(f"/api/v1/products/{mug}/images/{b}", json={}, headers=staff), 422)
    url = f"/api/v1/products/{mug}/images/{b}"
    await expect(await client.patch(url, json={"position": None}, headers=staff), 422)

    await expect(await client.delete(f"/api/v1/products/{mug}/images/{e}", headers=staff), 204)
    assert await assert_contiguous(db, mug) == [c, b, d, ids[5], a]
    await expect(await client.delete(f"/api/v1/products/{mug}/images/{c}", headers=staff), 204)
    await expect(await client.delete(f"/api/v1/products/{mug}/images/{a}", headers=staff), 204)
    assert await assert_contiguous(db, mug) == [b, d, ids[5]]
    await expect(await client.delete(f"/api/v1/products/{mug}/images/{a}", headers=staff), 404)
    assert [image["id"] for image in (await detail(client, mug))["images"]] == [b, d, ids[5]]


async def test_racing_writes_keep_the_positions_distinct(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    media = await add_media(db)
    added = await asyncio.gather(*(attach(client, staff, mug, media) for _ in range(8)))
    assert sorted(image["position"] for image in added) == list(range(8))
    ids = await assert_contiguous(db, mug)
    await asyncio.gather(
        *(attach(client, staff, mug, media, position=0) for _ in range(4)),
        *(client.delete(f"/api/v1/products/{mug}/images/{i}", headers=staff) for i in ids[:3]),
        *(
            client.patch(f"/api/v1/products/{mug}/images/{i}", json={"position": 0}, headers=staff)
            for i in ids[3:6]
        ),
    )
    assert len(await assert_contiguous(db, mug)) == 8 + 4 - 3


async def test_a_product_has_at_most_50_images(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    media = await add_media(db)
    for _ in range(MAX_IMAGES):
        await attach(client, staff, mug, media)
    await attach(client, staff, mug, media, 409, code="too_many_images")
    ids = await assert_contiguous(db, mug)
    assert len(ids) == MAX_IMAGES
    await expect(await client.delete(f"/api/v1/products/{mug}/images/{ids[0]}", headers=staff), 204)
    assert (await attach(client, staff, mug, media))["position"] == MAX_IMAGES - 1


async def test_the_detail_shows_the_ready_images_in_order(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    first, waiting, failed_later, last = (
        await add_media(db),
        await add_media(db, "processing"),
        await add_media(db),
        await add_media(db),
    )
    ids = [
        (await attach(client, staff, mug, m, alt=f"view {i}"))["id"]
        for i, m in enumerate([first, waiting, failed_later, last])
    ]
    await db.execute(
        "UPDATE media SET status = 'failed', error_code = 'corrupt', error_detail = 'x' WHERE id = $1",
        UUID(failed_later),
    )
    await media_changed(client.app[DB], client.app[CACHE], [UUID(failed_later)])
    images = (await detail(client, mug))["images"]
    assert [i["id"] for i in images] == [ids[0], ids[3]]
    sha = await db.fetchval("SELECT sha256 FROM media WHERE id = $1", UUID(first))
    base = f"/media/variants/{sha}/{LADDER}"
    assert images[0] == {
        "id": ids[0],
        "media_id": first,
        "alt": "view 0",
        "width": 640,
        "height": 480,
        "placeholder": "AAAA",
        "url": f"{base}/320.jpg",
        "srcset": f"{base}/160.jpg 160w, {base}/320.jpg 320w",
        "sources": [
            {"type": "image/avif", "srcset": f"{base}/160.avif 160w, {base}/320.avif 320w"},
            {"type": "image/webp", "srcset": f"{base}/160.webp 160w, {base}/320.webp 320w"},
        ],
    }


async def test_image_urls_name_the_cdn_when_there_is_one(
    make_settings: Any, make_client: Any, db: asyncpg.Connection
) -> None:
    from shopflow.app import create_app

    app = create_app(make_settings(media_cdn_url="https://cdn.shop.example/media"))
    client = await make_client(app)
    staff = await sign_in(client, app, "staff@shop.example", "staff")
    product = await add_product(client, staff, "Lamp", price=100)
    await attach(client, staff, product["id"], await add_media(db))
    [image] = (await detail(client, product["id"]))["images"]
    assert image["url"].startswith("https://cdn.shop.example/media/variants/")
    listed = await expect(await client.get("/api/v1/products"), 200)
    assert listed["items"][0]["thumbnail"] == image


async def test_each_summary_has_its_first_ready_image_as_thumbnail(
    client: Any, staff: dict[str, str], catalog: Catalog, db: asyncpg.Connection
) -> None:
    mug, hose, grinder = (
        str(product_of(catalog, n)["id"]) for n in ("Red Ceramic Mug", "Garden Hose", "Coffee Grinder")
    )
    await attach(client, staff, mug, await add_media(db, "processing"), alt="later")
    second = await attach(client, staff, mug, await add_media(db), alt="the mug")
    third = await attach(client, staff, mug, await add_media(db))
    hose_image = await attach(client, staff, hose, await add_media(db), alt="the hose")
    await attach(client, staff, grinder, await add_media(db, "processing"))
    page = await expect(await client.get("/api/v1/products?limit=100"), 200)
    thumbnails = {item["id"]: item["thumbnail"] for item in page["items"]}
    assert thumbnails[mug]["id"] == second["id"] and thumbnails[mug]["alt"] == "the mug"
    assert thumbnails[hose]["id"] == hose_image["id"]
    assert thumbnails[grinder] is None  # its only image is not ready yet
    assert thumbnails[str(product_of(catalog, "Blue Mug")["id"])] is None  # no images
    [shown] = [i for i in (await detail(client, mug))["images"] if i["id"] == second["id"]]
    assert thumbnails[mug] == shown
    # Moving the third first makes it the thumbnail: the listing pages were dropped.
    url = f"/api/v1/products/{mug}/images/{third['id']}"
    await expect(await client.patch(url, json={"position": 0}, headers=staff), 200)
    page = await expect(await client.get("/api/v1/products?limit=100"), 200)
    assert {item["id"]: item["thumbnail"] for item in page["items"]}[mug]["id"] == third["id"]


async def test_writes_and_ready_media_drop_the_cached_documents(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    assert (await detail(client, mug))["images"] == []  # cached now
    listing = "/api/v1/products?limit=100"

    def thumbnail(page: dict[str, Any]) -> Any:
        return next(item["thumbnail"] for item in page["items"] if item["id"] == mug)

    assert thumbnail(await expect(await client.get(listing), 200)) is None  # cached too
    shown = await attach(client, staff, mug, await add_media(db))
    assert [i["id"] for i in (await detail(client, mug))["images"]] == [shown["id"]]
    assert thumbnail(await expect(await client.get(listing), 200))["id"] == shown["id"]

    waiting_media = await add_media(db, "processing")
    waiting = await attach(client, staff, mug, waiting_media, position=0)
    assert [i["id"] for i in (await detail(client, mug))["images"]] == [shown["id"]]
    await make_ready(db, waiting_media)
    assert [i["id"] for i in (await detail(client, mug))["images"]] == [shown["id"]]  # cached
    await media_changed(client.app[DB], client.app[CACHE], [UUID(waiting_media)])
    assert [i["id"] for i in (await detail(client, mug))["images"]] == [waiting["id"], shown["id"]]
    assert thumbnail(await expect(await client.get(listing), 200))["id"] == waiting["id"]

    url = f"/api/v1/products/{mug}/images/{waiting['id']}"
    await expect(await client.patch(url, json={"alt": "new words"}, headers=staff), 200)
    assert (await detail(client, mug))["images"][0]["alt"] == "new words"
    await expect(await client.delete(url, headers=staff), 204)
    assert [i["id"] for i in (await detail(client, mug))["images"]] == [shown["id"]]
    assert thumbnail(await expect(await client.get(listing), 200))["id"] == shown["id"]


async def test_media_changed_touches_only_products_showing_them(
    app: Any, client: Any, mug: str, db: asyncpg.Connection
) -> None:
    version = app[CACHE].version("listing")
    await media_changed(app[DB], app[CACHE], [])
    await media_changed(app[DB], app[CACHE], [UUID(await add_media(db))])  # on no product
    assert app[CACHE].version("listing") == version


async def test_the_staff_views_show_the_images_too(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    image = await attach(client, staff, mug, await add_media(db))
    resp = await client.patch(f"/api/v1/products/{mug}", json={"status": "draft"}, headers=staff)
    assert [i["id"] for i in (await expect(resp, 200))["images"]] == [image["id"]]


async def test_a_product_removed_takes_its_images_and_a_media_in_use_stays(
    client: Any, staff: dict[str, str], mug: str, db: asyncpg.Connection
) -> None:
    media = await add_media(db)
    await attach(client, staff, mug, media)
    with pytest.raises(asyncpg.RestrictViolationError):  # 23001, not a ForeignKeyViolationError
        await db.execute("DELETE FROM media WHERE id = $1", UUID(media))
    await db.execute("DELETE FROM products WHERE id = $1", UUID(mug))
    assert await db.fetchval("SELECT count(*) FROM product_images WHERE media_id = $1", UUID(media)) == 0
    await db.execute("DELETE FROM media WHERE id = $1", UUID(media))  # no product shows it now
