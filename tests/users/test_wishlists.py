"""Wishlists: the default list, named lists, share links, guests' lists folded in at sign-in."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from shopflow.keys import DB
from shopflow.users import wishlist_queries
from shopflow.users.models import MAX_WISHLIST_ITEMS, MAX_WISHLISTS
from shopflow.users.wishlists import fold_guest_wishlist
from tests.checkout.conftest import add_product
from tests.client import expect
from tests.conftest import sign_in

PASSWORD = "correct horse battery staple"


async def products(db: asyncpg.Connection, *slugs: str, price: int = 2500) -> list[str]:
    """Products on sale, one SKU each (10 in stock); their ids."""
    ids = []
    for i, slug in enumerate(slugs):
        product_id, _ = await add_product(db, slug, {f"{slug.upper()}-1": (price + i, 10)})
        await db.execute(
            "UPDATE products SET price_min = $2, price_max = $2 WHERE id = $1",
            uuid.UUID(product_id),
            price + i,
        )
        ids.append(product_id)
    return ids


async def test_the_default_list_is_made_on_first_use_and_adding_twice_is_fine(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    shirt, socks = await products(db, "linen-shirt", "wool-socks")

    empty = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert empty["is_default"] and empty["items"] == [] and empty["next_cursor"] is None

    first = await expect(
        await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada), 201
    )
    assert first["product"]["id"] == shirt and first["product"]["price_range"]["min"]["amount"] == 2500
    assert first["product"]["in_stock"] is True and first["notify_back_in_stock"] is False
    again = await expect(
        await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada), 200
    )
    assert again["added_at"] == first["added_at"]
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": socks}, headers=ada), 201)

    shown = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert shown["id"] == empty["id"] and [i["product_id"] for i in shown["items"]] == [socks, shirt]

    await expect(await client.delete(f"/api/v1/me/wishlist/{shirt}", headers=ada), 204)
    await expect(await client.delete(f"/api/v1/me/wishlist/{shirt}", headers=ada), 204)  # gone already: fine
    shown = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert [i["product_id"] for i in shown["items"]] == [socks]
    assert await db.fetchval("SELECT count(*) FROM wishlists") == 1


async def test_pages_follow_the_cursor_newest_first(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    ids = await products(db, *(f"item-{n}" for n in range(5)))
    for product_id in ids:
        await expect(
            await client.post("/api/v1/me/wishlist", json={"product_id": product_id}, headers=ada), 201
        )
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await expect(await client.get("/api/v1/me/wishlist", params=params, headers=ada), 200)
        seen += [i["product_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ids[::-1] and cursor is None
    await expect(await client.get("/api/v1/me/wishlist", params={"cursor": "bm9wZQ"}, headers=ada), 422)


async def test_bad_input_is_refused(client: TestClient, app: web.Application, db: asyncpg.Connection) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    [shirt] = await products(db, "linen-shirt")
    draft, _ = await add_product(db, "draft-coat", {"COAT-1": (9000, 1)}, status="draft")

    assert (await client.get("/api/v1/me/wishlist")).status == 401
    for body in (
        {"product_id": 12},
        {"product_id": "not-a-uuid"},
        {"product_id": shirt, "colour": "red"},
        {"product_id": shirt, "notify_price_drop": "yes"},
        {},
    ):
        await expect(
            await client.post("/api/v1/me/wishlist", json=body, headers=ada), 422, "validation_failed"
        )
    for unknown in (str(uuid.uuid4()), draft):
        resp = await client.post("/api/v1/me/wishlist", json={"product_id": unknown}, headers=ada)
        await expect(resp, 422, "unknown_product")
    await expect(await client.delete("/api/v1/me/wishlist/not-a-uuid", headers=ada), 404)
    await expect(await client.get("/api/v1/me/wishlists/not-a-uuid", headers=ada), 404)
    await expect(await client.patch(f"/api/v1/me/wishlist/{shirt}", json={}, headers=ada), 422)
    resp = await client.patch(f"/api/v1/me/wishlist/{shirt}", json={"notify_price_drop": True}, headers=ada)
    await expect(resp, 404, "wishlist_item_not_found")
    await expect(await client.post("/api/v1/me/wishlists", json={"name": ""}, headers=ada), 422)
    await expect(await client.post("/api/v1/me/wishlists", json={"name": 5}, headers=ada), 422)
    await expect(await client.get(f"/api/v1/wishlists/shared/{'x' * 43}"), 404, "wishlist_not_found")


async def test_named_lists_are_the_callers_own(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    eve = await sign_in(client, app, "eve@example.com")
    [shirt] = await products(db, "linen-shirt")

    made = await expect(
        await client.post("/api/v1/me/wishlists", json={"name": "Birthday"}, headers=ada), 201
    )
    lid = made["id"]
    url = f"/api/v1/me/wishlists/{lid}"
    await expect(await client.post(f"{url}/items", json={"product_id": shirt}, headers=ada), 201)
    listed = await expect(await client.get("/api/v1/me/wishlists", headers=ada), 200)
    assert [(w["name"], w["is_default"]) for w in listed["items"]] == [
        ("Wishlist", True),
        ("Birthday", False),
    ]

    for method, path, body in (
        ("GET", url, None),
        ("PATCH", url, {"name": "Mine now"}),
        ("DELETE", url, None),
        ("POST", f"{url}/items", {"product_id": shirt}),
        ("PATCH", f"{url}/items/{shirt}", {"notify_back_in_stock": True}),
        ("DELETE", f"{url}/items/{shirt}", None),
        ("POST", f"{url}/share", None),
        ("DELETE", f"{url}/share", None),
    ):
        resp = await client.request(method, path, json=body, headers=eve)
        await expect(resp, 404, "wishlist_not_found")
    shown = await expect(await client.get(url, headers=ada), 200)
    assert shown["name"] == "Birthday" and [i["product_id"] for i in shown["items"]] == [shirt]

    renamed = await expect(await client.patch(url, json={"name": "Wedding"}, headers=ada), 200)
    assert renamed["name"] == "Wedding"
    default_id = listed["items"][0]["id"]
    await expect(
        await client.delete(f"/api/v1/me/wishlists/{default_id}", headers=ada), 409, "default_wishlist_kept"
    )
    await expect(await client.delete(url, headers=ada), 204)
    await expect(await client.get(url, headers=ada), 404)
    assert await db.fetchval("SELECT count(*) FROM wishlist_items") == 0


async def test_a_share_link_shows_the_list_until_revoked(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    [shirt] = await products(db, "linen-shirt")
    lid = (await expect(await client.post("/api/v1/me/wishlists", json={"name": "Gifts"}, headers=ada), 201))[
        "id"
    ]
    await expect(
        await client.post(f"/api/v1/me/wishlists/{lid}/items", json={"product_id": shirt}, headers=ada), 201
    )

    link = await expect(await client.post(f"/api/v1/me/wishlists/{lid}/share", headers=ada), 201)
    token = link["token"]
    assert link["url"].endswith(f"/api/v1/wishlists/shared/{token}") and len(token) == 43
    stored = await db.fetchval("SELECT share_token_hash FROM wishlists WHERE id = $1", uuid.UUID(lid))
    assert stored == hashlib.sha256(token.encode()).digest()

    shared = await expect(await client.get(f"/api/v1/wishlists/shared/{token}"), 200)  # no sign-in
    assert shared["name"] == "Gifts" and [i["product_id"] for i in shared["items"]] == [shirt]
    assert set(shared) == {"name", "items", "next_cursor"}
    assert set(shared["items"][0]) == {"product_id", "added_at", "product"}
    assert "ada" not in str(shared) and lid not in str(shared)

    newer = await expect(await client.post(f"/api/v1/me/wishlists/{lid}/share", headers=ada), 201)
    await expect(await client.get(f"/api/v1/wishlists/shared/{token}"), 404, "wishlist_not_found")
    await expect(await client.get(f"/api/v1/wishlists/shared/{newer['token']}"), 200)
    await expect(await client.delete(f"/api/v1/me/wishlists/{lid}/share", headers=ada), 204)
    await expect(await client.get(f"/api/v1/wishlists/shared/{newer['token']}"), 404, "wishlist_not_found")


async def test_archived_products_drop_out_and_come_back(
    client: TestClient, app: web.Application, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    shirt, socks = await products(db, "linen-shirt", "wool-socks")
    for product_id in (shirt, socks):
        await expect(
            await client.post("/api/v1/me/wishlist", json={"product_id": product_id}, headers=ada), 201
        )

    await expect(await client.delete(f"/api/v1/products/{shirt}", headers=staff), 204)
    shown = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert [i["product_id"] for i in shown["items"]] == [socks]
    resp = await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada)
    await expect(resp, 422, "unknown_product")

    await expect(
        await client.patch(f"/api/v1/products/{shirt}", json={"status": "active"}, headers=staff), 200
    )
    shown = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert [i["product_id"] for i in shown["items"]] == [socks, shirt]


async def test_two_adds_of_one_product_at_once_make_one_item(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    [shirt] = await products(db, "linen-shirt")
    for _ in range(3):  # the first round races to make the default list too
        answers = await asyncio.gather(
            *(client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada) for _ in range(6))
        )
        assert sorted(r.status for r in answers) in ([200] * 6, [200] * 5 + [201])
    assert await db.fetchval("SELECT count(*) FROM wishlist_items") == 1
    assert await db.fetchval("SELECT count(*) FROM wishlists") == 1


async def test_lists_and_items_are_capped(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    [shirt] = await products(db, "linen-shirt")
    default_id = (await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200))["id"]
    fillers = await db.fetch(
        "INSERT INTO products (slug, name, status, currency, price_min, price_max) SELECT 'filler-' || n,"
        " 'Filler', 'active', 'USD', 100, 100 FROM generate_series(1, $1) n RETURNING id",
        MAX_WISHLIST_ITEMS,
    )
    await db.execute(
        "INSERT INTO wishlist_items (wishlist_id, product_id) SELECT $1, unnest($2::uuid[])",
        uuid.UUID(default_id),
        [r["id"] for r in fillers],
    )
    await expect(
        await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada),
        409,
        "wishlist_full",
    )

    answers = await asyncio.gather(
        *(
            client.post("/api/v1/me/wishlists", json={"name": f"L{n}"}, headers=ada)
            for n in range(MAX_WISHLISTS + 3)
        )
    )
    assert sorted(r.status for r in answers) == [201] * (MAX_WISHLISTS - 1) + [409] * 4
    assert await db.fetchval("SELECT count(*) FROM wishlists") == MAX_WISHLISTS


async def test_a_guests_list_is_folded_in_at_sign_in_once(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    shirt, socks, scarf = await products(db, "linen-shirt", "wool-socks", "silk-scarf")
    guest = await expect(await client.post("/api/v1/wishlists"), 201)
    gid = guest["id"]
    assert guest["items"] == []
    for product_id in (shirt, socks):
        await expect(
            await client.post(f"/api/v1/wishlists/{gid}/items", json={"product_id": product_id}), 201
        )
    await expect(await client.post(f"/api/v1/wishlists/{gid}/items", json={"product_id": shirt}), 200)
    bad = {"product_id": shirt, "notify_price_drop": True}  # a guest has no address to notify
    await expect(await client.post(f"/api/v1/wishlists/{gid}/items", json=bad), 422, "validation_failed")
    await expect(await client.delete(f"/api/v1/wishlists/{gid}/items/{socks}"), 204)
    await expect(await client.post(f"/api/v1/wishlists/{gid}/items", json={"product_id": scarf}), 201)
    shown = await expect(await client.get(f"/api/v1/wishlists/{gid}"), 200)
    assert [i["product_id"] for i in shown["items"]] == [scarf, shirt]

    ada = await sign_in(client, app, "ada@example.com")
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada), 201)
    login = {"email": "ada@example.com", "password": PASSWORD, "wishlist_id": gid}
    signed = await expect(await client.post("/api/v1/auth/login", json=login), 200)
    assert "wishlist_error" not in signed or signed["wishlist_error"] is None
    mine = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert sorted(i["product_id"] for i in mine["items"]) == sorted([shirt, scarf])
    await expect(await client.get(f"/api/v1/wishlists/{gid}"), 404, "wishlist_not_found")

    again = await expect(await client.post("/api/v1/auth/login", json=login), 200)  # harmless
    assert again["wishlist_error"] == "wishlist_not_found"
    assert await db.fetchval("SELECT count(*) FROM wishlist_items") == 2


async def test_a_customers_list_is_not_a_guests(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    [shirt] = await products(db, "linen-shirt")
    ada = await sign_in(client, app, "ada@example.com")
    await sign_in(client, app, "eve@example.com")
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada), 201)
    adas = (await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200))["id"]

    # Eve, holding Ada's list id, can neither read nor change it as a guest's, nor take it at sign-in.
    await expect(await client.get(f"/api/v1/wishlists/{adas}"), 404)
    await expect(await client.post(f"/api/v1/wishlists/{adas}/items", json={"product_id": shirt}), 404)
    await expect(await client.delete(f"/api/v1/wishlists/{adas}/items/{shirt}"), 404)
    login = {"email": "eve@example.com", "password": PASSWORD, "wishlist_id": adas}
    signed = await expect(await client.post("/api/v1/auth/login", json=login), 200)
    assert signed["wishlist_error"] == "wishlist_not_found"
    assert (
        await db.fetchval("SELECT count(*) FROM wishlist_items WHERE wishlist_id = $1", uuid.UUID(adas)) == 1
    )
    # A guest's list for a list id that does not exist, or one that has expired, is not found either.
    await expect(await client.get(f"/api/v1/wishlists/{uuid.uuid4()}"), 404)
    gid = (await expect(await client.post("/api/v1/wishlists"), 201))["id"]
    await db.execute(
        "UPDATE wishlists SET expires_at = now() - interval '1 second' WHERE id = $1", uuid.UUID(gid)
    )
    await expect(await client.get(f"/api/v1/wishlists/{gid}"), 404)


async def test_two_folds_of_one_guest_list_at_once_move_it_once(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    shirt, socks = await products(db, "linen-shirt", "wool-socks")
    ada = await sign_in(client, app, "ada@example.com")
    user_id = await db.fetchval("SELECT id FROM users WHERE email = 'ada@example.com'")
    gid = (await expect(await client.post("/api/v1/wishlists"), 201))["id"]
    for product_id in (shirt, socks):
        await expect(
            await client.post(f"/api/v1/wishlists/{gid}/items", json={"product_id": product_id}), 201
        )
    results = await asyncio.gather(
        *(fold_guest_wishlist(app[DB], uuid.UUID(gid), user_id) for _ in range(4)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, int)] == [2]
    assert all(type(r).__name__ == "WishlistNotFound" for r in results if not isinstance(r, int))
    mine: Any = await expect(await client.get("/api/v1/me/wishlist", headers=ada), 200)
    assert len(mine["items"]) == 2 and await db.fetchval("SELECT count(*) FROM wishlists") == 1


async def test_idle_guest_lists_are_cleaned_up(
    client: TestClient, app: web.Application, db: asyncpg.Connection
) -> None:
    [shirt] = await products(db, "linen-shirt")
    ada = await sign_in(client, app, "ada@example.com")
    await expect(await client.post("/api/v1/me/wishlist", json={"product_id": shirt}, headers=ada), 201)
    idle, live = [(await expect(await client.post("/api/v1/wishlists"), 201))["id"] for _ in range(2)]
    await db.execute(
        "UPDATE wishlists SET expires_at = now() - interval '1 second' WHERE id = $1", uuid.UUID(idle)
    )
    assert await wishlist_queries.delete_expired_guest_lists(app[DB]) == 1
    left = {str(r["id"]) for r in await db.fetch("SELECT id FROM wishlists WHERE user_id IS NULL")}
    assert left == {live} and await db.fetchval("SELECT count(*) FROM wishlist_items") == 1
