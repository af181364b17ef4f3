"""The address book, and checkout taking its addresses, against the real servers."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.checkout.conftest import ADDRESS, add, add_product, new_cart
from tests.client import expect
from tests.conftest import sign_in

BOOK = "/api/v1/me/addresses"
HOME = {**ADDRESS, "label": "Home"}
WORK = {
    "label": "Work",
    "name": "Ada King",
    "line1": "1 Infinite Loop",
    "line2": "Building 4",
    "city": "Cupertino",
    "region": "CA",
    "postal_code": "95014",
    "country": "US",
    "phone": "+1 408 555 0100",
}


async def add_address(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    return dict(await expect(await client.post(BOOK, json=body, headers=headers), 201))


async def book(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list((await expect(await client.get(BOOK, headers=headers), 200))["items"])


def defaults(items: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The ids of the default shipping and billing addresses."""
    return (
        [a["id"] for a in items if a["is_default_shipping"]],
        [a["id"] for a in items if a["is_default_billing"]],
    )


@pytest.fixture
async def ada(client: TestClient, app: web.Application) -> dict[str, str]:
    return await sign_in(client, app, "ada@shop.example")


async def test_the_first_address_is_both_defaults_and_a_new_default_replaces_the_old(
    client: TestClient, ada: dict[str, str]
) -> None:
    await expect(await client.get(BOOK), 401)
    assert await book(client, ada) == []
    home = await add_address(client, ada, HOME)
    assert home["is_default_shipping"] and home["is_default_billing"]
    assert {k: home[k] for k in HOME} == HOME and home["phone"] is None
    work = await add_address(client, ada, WORK)
    assert not work["is_default_shipping"] and not work["is_default_billing"]
    assert [a["id"] for a in await book(client, ada)] == [work["id"], home["id"]]  # newest first

    made = await expect(
        await client.patch(f"{BOOK}/{work['id']}", json={"is_default_billing": True}, headers=ada), 200
    )
    assert made["is_default_billing"] and not made["is_default_shipping"]
    assert defaults(await book(client, ada)) == ([home["id"]], [work["id"]])
    third = await add_address(client, ada, {**WORK, "label": "Studio", "is_default_shipping": True})
    assert defaults(await book(client, ada)) == ([third["id"]], [work["id"]])


async def test_patches_change_fields_and_deleting_a_default_promotes_the_newest(
    client: TestClient, ada: dict[str, str]
) -> None:
    home = await add_address(client, ada, HOME)
    work = await add_address(client, ada, WORK)
    studio = await add_address(client, ada, {**WORK, "label": "Studio"})
    changed = await expect(
        await client.patch(
            f"{BOOK}/{work['id']}", json={"city": "San Jose", "phone": None, "label": None}, headers=ada
        ),
        200,
    )
    assert (changed["city"], changed["phone"], changed["label"], changed["line1"]) == (
        "San Jose",
        None,
        None,
        "1 Infinite Loop",
    )
    await expect(await client.delete(f"{BOOK}/{home['id']}", headers=ada), 204)
    assert defaults(await book(client, ada)) == ([studio["id"]], [studio["id"]])
    await expect(await client.delete(f"{BOOK}/{work['id']}", headers=ada), 204)
    assert defaults(await book(client, ada)) == ([studio["id"]], [studio["id"]])
    await expect(await client.delete(f"{BOOK}/{studio['id']}", headers=ada), 204)
    assert await book(client, ada) == []
    await expect(await client.delete(f"{BOOK}/{studio['id']}", headers=ada), 404, "address_not_found")


async def test_another_users_address_is_not_found(
    client: TestClient, app: web.Application, ada: dict[str, str]
) -> None:
    bob = await sign_in(client, app, "bob@shop.example")
    theirs = await add_address(client, bob, HOME)
    mine = await add_address(client, ada, WORK)
    for path in (f"{BOOK}/{theirs['id']}", f"{BOOK}/6f1c2f4e-0000-4000-8000-000000000000"):
        await expect(await client.patch(path, json={"city": "X"}, headers=ada), 404, "address_not_found")
        await expect(await client.delete(path, headers=ada), 404, "address_not_found")
    await expect(await client.patch(f"{BOOK}/not-a-uuid", json={"city": "X"}, headers=ada), 404)
    assert [a["id"] for a in await book(client, ada)] == [mine["id"]]
    assert (await book(client, bob))[0]["city"] == HOME["city"]


async def test_bad_addresses_are_refused(client: TestClient, ada: dict[str, str]) -> None:
    home = await add_address(client, ada, HOME)
    for body in (
        {**HOME, "country": "XX"},
        {**HOME, "country": "gb"},
        {**HOME, "country": 44},
        {**HOME, "phone": "call me"},
        {**HOME, "postal_code": ""},
        {**HOME, "name": None},
        {**HOME, "line1": ["12 St James's Square"]},
        {**HOME, "is_default_shipping": "yes"},
        {**HOME, "id": home["id"]},
        {**HOME, "planet": "Earth"},
        {k: v for k, v in HOME.items() if k != "city"},
    ):
        await expect(await client.post(BOOK, json=body, headers=ada), 422, "validation_failed")
    path = f"{BOOK}/{home['id']}"
    for patch in (
        {},
        {"country": "XX"},
        {"phone": "call me"},
        {"name": None},  # required fields cannot be removed
        {"city": ""},
        {"is_default_shipping": False},  # another address becomes the default instead
        {"is_default_billing": "true"},
        {"created_at": "2024-01-01T00:00:00Z"},
    ):
        await expect(await client.patch(path, json=patch, headers=ada), 422, "validation_failed")
    assert (await book(client, ada))[0] == home


async def test_the_book_holds_fifty_addresses(
    client: TestClient, ada: dict[str, str], db: asyncpg.Connection
) -> None:
    for n in range(50):
        await add_address(client, ada, {**HOME, "label": f"#{n}"})
    full = await client.post(BOOK, json=WORK, headers=ada)
    await expect(full, 409, "address_book_full")
    assert len(await book(client, ada)) == 50
    assert await db.fetchval("SELECT count(*) FROM addresses") == 50


async def test_two_requests_making_different_defaults_leave_exactly_one(
    client: TestClient, ada: dict[str, str], db: asyncpg.Connection
) -> None:
    ids = [(await add_address(client, ada, {**WORK, "label": f"#{n}"}))["id"] for n in range(4)]
    for round_ in range(5):
        a, b = ids[round_ % 4], ids[(round_ + 1) % 4]
        both = {"is_default_shipping": True, "is_default_billing": True}
        answers = await asyncio.gather(*(client.patch(f"{BOOK}/{x}", json=both, headers=ada) for x in (a, b)))
        for resp in answers:
            await expect(resp, 200)
        shipping, billing = defaults(await book(client, ada))
        assert len(shipping) == len(billing) == 1 and shipping[0] in (a, b)
    # a default deleted while another request makes a different address the default
    shipping, _ = defaults(await book(client, ada))
    other = next(x for x in ids if x != shipping[0])
    deleted, made = await asyncio.gather(
        client.delete(f"{BOOK}/{shipping[0]}", headers=ada),
        client.patch(f"{BOOK}/{other}", json={"is_default_shipping": True}, headers=ada),
    )
    await expect(deleted, 204)
    await expect(made, 200)
    rows = await db.fetch("SELECT id FROM addresses WHERE is_default_shipping")
    assert [str(r["id"]) for r in rows] == [other]
    assert await db.fetchval("SELECT count(*) FROM addresses WHERE is_default_billing") == 1


async def test_concurrent_adds_never_pass_fifty(client: TestClient, ada: dict[str, str]) -> None:
    for n in range(48):
        await add_address(client, ada, {**HOME, "label": f"#{n}"})
    answers = await asyncio.gather(*(client.post(BOOK, json=WORK, headers=ada) for _ in range(4)))
    assert sorted(r.status for r in answers) == [201, 201, 409, 409]
    items = await book(client, ada)
    assert len(items) == 50
    assert [len(d) for d in defaults(items)] == [1, 1]


# Checkout with addresses from the book


@pytest.fixture
async def mug(db: asyncpg.Connection) -> str:
    _, variants = await add_product(db, "red-mug", {"MUG-RED": (1200, 20)})
    return variants["MUG-RED"]


async def place(client: TestClient, mug: str, headers: dict[str, str], **addresses: Any) -> Any:
    cart = await new_cart(client, headers)
    await expect(await add(client, cart, mug, 1, headers), 201)
    body = {"email": "ada@shop.example", "payment_provider": "manual", **addresses}
    return await client.post(f"/api/v1/carts/{cart}/checkout", json=body, headers=headers)


async def test_checkout_copies_book_addresses_into_the_order(
    client: TestClient, ada: dict[str, str], mug: str
) -> None:
    home = await add_address(client, ada, HOME)
    work = await add_address(client, ada, WORK)
    placed = await expect(
        await place(client, mug, ada, shipping_address_id=work["id"], billing_address_id=home["id"]), 201
    )
    fields = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
    order = placed["order"]
    assert order["shipping_address"] == {k: work[k] for k in fields}
    assert order["billing_address"] == {k: home[k] for k in fields}
    # an id for shipping, a written address for billing; or billing left to follow shipping
    written = {k: WORK[k] for k in fields}
    mixed = await expect(
        await place(client, mug, ada, shipping_address_id=home["id"], billing_address=written), 201
    )
    assert mixed["order"]["billing_address"] == written
    same = await expect(await place(client, mug, ada, shipping_address_id=home["id"]), 201)
    assert same["order"]["billing_address"] == same["order"]["shipping_address"]

    # the order keeps its copy whatever the book does later
    await expect(await client.patch(f"{BOOK}/{work['id']}", json={"city": "Elsewhere"}, headers=ada), 200)
    await expect(await client.delete(f"{BOOK}/{home['id']}", headers=ada), 204)
    kept = await expect(await client.get(f"/api/v1/orders/{order['id']}", headers=ada), 200)
    assert kept["shipping_address"] == {k: work[k] for k in fields}
    assert kept["billing_address"] == {k: home[k] for k in fields}


async def test_checkout_takes_only_the_callers_own_addresses(
    client: TestClient, app: web.Application, ada: dict[str, str], mug: str
) -> None:
    bob = await sign_in(client, app, "bob@shop.example")
    theirs = await add_address(client, bob, HOME)
    mine = await add_address(client, ada, WORK)
    for ids in (
        {"shipping_address_id": theirs["id"]},
        {"shipping_address_id": mine["id"], "billing_address_id": theirs["id"]},
        {"shipping_address_id": "6f1c2f4e-0000-4000-8000-000000000000"},
    ):
        await expect(await place(client, mug, ada, **ids), 404, "address_not_found")
    # a guest has no book
    await expect(await place(client, mug, {}, shipping_address_id=mine["id"]), 404, "address_not_found")
    for body in (
        {},  # neither
        {"shipping_address": ADDRESS, "shipping_address_id": mine["id"]},  # both
        {"shipping_address": ADDRESS, "billing_address": ADDRESS, "billing_address_id": mine["id"]},
        {"shipping_address_id": "not-a-uuid"},
        {"shipping_address_id": 5},
    ):
        await expect(await place(client, mug, ada, **body), 422, "validation_failed")
