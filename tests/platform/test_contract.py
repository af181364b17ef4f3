"""The OpenAPI document against the running shop: schemathesis, every check, three callers.

Each caller (anonymous, a customer, staff) gets its own shop (database, Redis, the app on a
loopback port) with a category, products, an open guest cart and placed orders, and
schemathesis runs against `/openapi.json` with all its checks and phases (coverage,
fuzzing, and the stateful phase following the document's links; the examples phase finds
none), a fixed seed and bounded example counts, drawing now and then on the shop's own
ids. Any failure it reports fails the test, and its report is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from shopflow.app import create_app
from shopflow.auth.service import create_user
from shopflow.keys import AUTH, DB, MEDIA_STORAGE
from shopflow.media.ladder import Ladder, VariantFormat, variant_key
from shopflow.platform.openapi import endpoints
from shopflow.platform.ratelimit import Limit
from tests.catalog.conftest import add_category, add_media, add_product
from tests.checkout.conftest import add, checkout, new_cart

DIGEST = Ladder().digest  # the default ladder's, as variant keys carry it

SEED = 20240611
MAX_EXAMPLES = 12  # per operation, in each phase that generates (the suite keeps under 15 minutes)
MAX_SCENARIOS = 150  # of the stateful phase
RUN_TIMEOUT = 240  # seconds; under the test's own timeout (a loaded machine is slow)
PASSWORD = "correct horse battery staple"
STAFF, CUSTOMER = "staff@shop.example", "ada@shop.example"
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
# What schemathesis accepts by default as the answer to a well-formed request.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# Nothing here may answer 429 for the volume of a run: every limit far above it.
NO_LIMIT = Limit(1_000_000, 60)
LIMITS = {
    name: NO_LIMIT
    for name in (
        "rate_limit_api_ip",
        "rate_limit_login_ip",
        "rate_limit_login_account",
        "rate_limit_register_ip",
        "rate_limit_refresh_ip",
        "rate_limit_oauth_ip",
        "rate_limit_forgot_ip",
        "rate_limit_forgot_account",
    )
}


async def _bearer(client: Any, email: str) -> dict[str, str]:
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status == 200, await login.text()
    return {"Authorization": f"Bearer {(await login.json())['access_token']}"}


async def _seed(client: Any, app: web.Application) -> dict[str, list[str]]:
    """A category with products, a customer and a staff member, an open guest cart, a guest
    order and the customer's, a stored image variant, a ready media shown by a product; the
    ids, by the parameters that take them."""
    for email, role in ((STAFF, "staff"), (CUSTOMER, "customer")):
        await create_user(app[DB], app[AUTH].passwords, email, PASSWORD, role.title(), role)
    staff, customer = await _bearer(client, STAFF), await _bearer(client, CUSTOMER)
    category = await add_category(client, staff, "kitchen")
    products = [
        await add_product(client, staff, "Red Mug", price=1200, on_hand=50, category=category),
        await add_product(client, staff, "Grinder", price=4500, on_hand=0, category=category),
        await add_product(client, staff, "Garden Hose", price=2500, on_hand=30),
    ]
    variants = [v for p in products for v in p["variants"]]
    mug = variants[0]["id"]
    cart = await new_cart(client)
    item = (await (await add(client, cart, mug, 1)).json())["items"][0]["id"]
    orders = []
    for headers in ({}, customer):
        bought = await new_cart(client, headers)
        assert (await add(client, bought, mug, 2, headers)).status == 201
        placed = await checkout(client, bought, headers)
        assert placed.status == 201, await placed.text()
        orders.append((await placed.json())["order"]["id"])
    # A variant as the workers store them, for GET /media/{key} to serve whole, in part or 304.
    image = variant_key("0" * 64, DIGEST, 640, VariantFormat.WEBP)
    await app[MEDIA_STORAGE].put(image, b"RIFF\x00\x00\x00\x00WEBP" + bytes(1000), "image/webp")
    media = await add_media(app[DB])  # as the media component leaves one it has made
    images = f"/api/v1/products/{products[0]['id']}/images"
    shown = await client.post(images, json={"media_id": media}, headers=staff)
    assert shown.status == 201, await shown.text()
    return {
        "media_key": [image],
        "media": [media],
        "image": [(await shown.json())["id"]],
        "cart": [cart],
        "item": [item],
        "order": orders,
        "product": [p["id"] for p in products],
        "variant": [v["id"] for v in variants],
        "sku": [v["sku"] for v in variants],
        "category": [category],
    }


# Where schemathesis may use the shop's own ids, half the time, instead of generated ones.
PARAMETERS = {
    "path.cart": "cart",
    "path.guest_cart": "cart",
    "path.item": "item",
    "path.order": "order",
    "path.product": "product",
    "path.variant_id": "variant",
    "body.variant_id": "variant",
    "path.sku": "sku",
    "body.category_id": "category",
    "body.parent_id": "category",
    "query.category": "category",
    "path.key": "media_key",
    "body.media_id": "media",
    "path.image_id": "image",
    "body.product_id": "product",
    "path.product_id": "product",
}


def _config(caller: str, base_url: str, app: web.Application, ids: dict[str, list[str]]) -> str:
    """schemathesis.toml for one caller: its credentials, the run's bounds, the shop's ids,
    and per operation the refusals its rules make of well-formed requests."""
    lines = [
        f"seed = {SEED}",
        f"base-url = {json.dumps(base_url)}",
        "workers = 1",
        "[cache]",
        "enabled = false",  # each run starts from nothing but its seed
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        'database = "none"',
        "[phases.stateful]",
        "enabled = true",
        "[phases.stateful.generation]",
        f"max-examples = {MAX_SCENARIOS}",
        "[auth]",
        "auto-signup = false",  # anonymous stays anonymous; the others sign in below
    ]
    if caller != "anonymous":
        # Signed in by the login endpoint, and again whenever the run's own logout ends the session.
        email = STAFF if caller == "staff" else CUSTOMER
        lines += [
            "[auth.dynamic.openapi.bearer]",
            'path = "/api/v1/auth/login"',
            f"payload = {{ email = {json.dumps(email)}, password = {json.dumps(PASSWORD)} }}",
            'extract_selector = "/access_token"',
        ]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    lines.append("[parameters]")
    lines += [
        f'{json.dumps(key)} = {{ dictionary = "{name}", probability = 0.5 }}'
        for key, name in PARAMETERS.items()
    ]
    # A well-formed request may still be refused for what no schema can say: a token that is
    # not valid, an unknown variant, a cursor from another list, a common password, bytes
    # that are not an image. The statuses an endpoint declares in `errors` are those
    # refusals; schemathesis accepts them from that operation.
    for path, method, _, spec in endpoints(app):
        if refusals := sorted({400, 415, 422} & set(spec.errors)):
            expected = [*ACCEPTED, *map(str, refusals)]
            lines += [
                "[[operations]]",
                f"include-name = {json.dumps(f'{method.upper()} {path}')}",
                f"checks.positive_data_acceptance.expected-statuses = {json.dumps(expected)}",
            ]
    return "\n".join(lines) + "\n"


async def _schemathesis(url: str, config: Path, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "--config-file",
        str(config),
        "--no-color",
        "run",
        url,
        "--checks",
        "all",
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        out = await proc.stdout.read() if proc.stdout else b""
        await proc.wait()
        pytest.fail(f"schemathesis did not finish in {RUN_TIMEOUT} s:\n{out.decode(errors='replace')}")
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("caller", ["anonymous", "customer", "staff"])
async def test_the_api_keeps_its_openapi_contract(
    caller: str, make_settings: Any, make_client: Any, tmp_path: Path
) -> None:
    app = create_app(make_settings(**LIMITS, login_backoff_after=1_000_000))
    client = await make_client(app)
    ids = await _seed(client, app)
    base_url = str(client.make_url("")).rstrip("/")
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(caller, base_url, app, ids))
    code, report = await _schemathesis(f"{base_url}/openapi.json", config, tmp_path)
    print(report)  # pytest shows it when the test fails
    assert code == 0, f"schemathesis as {caller} found failures; its report is in the captured stdout"
