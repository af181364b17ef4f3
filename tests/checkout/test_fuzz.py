"""Random JSON to every checkout endpoint: a 4xx or a success, never a 5xx."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz import bodies, fuzz_bodies, json_values

from .conftest import ADDRESS, Shop, add, checkout, new_cart

FIELDS = [
    "variant_id",
    "quantity",
    "email",
    "shipping_address",
    "billing_address",
    "payment_provider",
    "carrier",
    "tracking_number",
    "amount",
    "reason",
    "unit_price",
]
addresses = st.fixed_dictionaries(
    {},
    optional={k: json_values | st.just(v) for k, v in ADDRESS.items()}
    | {"line2": json_values, "phone": json_values},
)


async def test_random_bodies_never_cause_a_server_error(
    client: Any, shop: Shop, staff: dict[str, str]
) -> None:
    cart = await new_cart(client)
    await add(client, cart, shop.variants["SHIRT-S"], 1)
    item = (await (await client.get(f"/api/v1/carts/{cart}")).json())["items"][0]["id"]
    paid_cart = await new_cart(client)
    await add(client, paid_cart, shop.variants["SHIRT-M"], 1)
    order = (await (await checkout(client, paid_cart)).json())["order"]["id"]
    await client.post(f"/api/v1/orders/{order}/mark-paid", headers=staff)
    targets = [
        ("POST", f"/api/v1/carts/{cart}/items"),
        ("PATCH", f"/api/v1/carts/{cart}/items/{item}"),
        ("POST", f"/api/v1/carts/{cart}/checkout"),
        ("POST", f"/api/v1/orders/{order}/fulfill"),
        ("POST", f"/api/v1/orders/{order}/refund"),
    ]

    await fuzz_bodies(client, staff, targets, bodies(FIELDS, json_values | addresses))
