"""A guest order is reached by the secret its buyer was given, never by its id alone."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import sign_in

from .conftest import Shop, add, buyer, checkout, new_cart


async def _guest_order(client: TestClient, shop: Shop) -> dict[str, Any]:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    resp = await checkout(client, cart)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def test_the_id_alone_finds_nothing(client: TestClient, shop: Shop, staff: dict[str, str]) -> None:
    placed = await _guest_order(client, shop)
    other = await _guest_order(client, shop)
    path = f"/api/v1/orders/{placed['order']['id']}"
    token = placed["order_token"]
    assert isinstance(token, str) and len(token) >= 40

    assert (await client.get(path)).status == 404
    wrong = token[:-1] + ("B" if token.endswith("A") else "A")
    assert (await client.get(path, headers={"X-Order-Token": wrong})).status == 404
    assert (await client.get(path, headers=buyer(other))).status == 404  # another order's secret
    assert (await client.get(path, params={"token": token})).status == 200
    assert (await client.get(path, headers=buyer(placed))).status == 200
    assert (await client.get(path, headers=staff)).status == 200  # staff need no secret

    assert (await client.post(f"{path}/cancel")).status == 404
    assert (await client.post(f"{path}/cancel", headers=buyer(other))).status == 404
    cancelled = await client.post(f"{path}/cancel", params={"token": token})
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"


async def test_only_a_hash_of_the_secret_is_kept(
    client: TestClient, shop: Shop, db: asyncpg.Connection
) -> None:
    placed = await _guest_order(client, shop)
    token = placed["order_token"]
    row = await db.fetchrow("SELECT * FROM orders WHERE id = $1", placed["order"]["id"])
    assert bytes(row["access_hash"]) == hashlib.sha256(token.encode()).digest()
    assert token not in repr(dict(row))


async def test_the_confirmation_mail_carries_the_secret(
    client: TestClient, shop: Shop, db: asyncpg.Connection, staff: dict[str, str]
) -> None:
    placed = await _guest_order(client, shop)
    order_id = placed["order"]["id"]
    assert (await client.post(f"/api/v1/orders/{order_id}/mark-paid", headers=staff)).status == 200
    body = await db.fetchval("SELECT body FROM mail_outbox WHERE subject LIKE 'Order % is confirmed'")
    link = re.search(r"https?://\S+", body)
    assert link is not None and placed["order_token"] in link.group()
    path = link.group().split("://", 1)[1].split("/", 1)[1]
    resp = await client.get("/" + path)
    assert resp.status == 200 and (await resp.json())["status"] == "paid"


async def test_a_signed_in_buyer_needs_no_secret(
    client: TestClient, app: web.Application, shop: Shop, db: asyncpg.Connection
) -> None:
    ada = await sign_in(client, app, "ada@example.com")
    cart = await new_cart(client, ada)
    await add(client, cart, shop.variants["SHIRT-S"], 1, ada)
    placed = await (await checkout(client, cart, ada)).json()
    assert placed["order_token"] is None
    path = f"/api/v1/orders/{placed['order']['id']}"
    assert (await client.get(path, headers=ada)).status == 200
    assert (await client.get(path)).status == 404
    assert await db.fetchval("SELECT access_hash FROM orders") is None
