"""The cart and checkout as a browser with JavaScript off uses them: plain forms, each
answered with a redirect (303) to a page; every form carries its CSRF token."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from shopflow.auth.interface import cookie_names
from shopflow.keys import SETTINGS
from tests.checkout.conftest import add_product
from tests.conftest import sign_in
from tests.web.conftest import HTML

PASSWORD = "correct horse battery staple"  # tests.conftest.sign_in's


class Browser:
    """One person's browser: its own cookies (kept here, since the test server is plain
    HTTP and the cookies are Secure), following no redirects by itself."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.bearer: dict[str, str] = {}  # a signed-in browser's account, for arranging through the API

    def _keep(self, resp: Any) -> None:
        for header in resp.headers.getall("Set-Cookie", []):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def _headers(self) -> dict[str, str]:
        jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**HTML, **({"Cookie": jar} if jar else {})}

    async def get(self, path: str, status: int = 200) -> str:
        self.client.session.cookie_jar.clear()
        resp = await self.client.get(path, headers=self._headers(), allow_redirects=False)
        text = await resp.text()
        assert resp.status == status, f"GET {path}: {resp.status}: {text[:800]}"
        if status == 200 and path.startswith(("/cart", "/checkout", "/orders/")):
            assert resp.headers["Cache-Control"] == "no-store", path  # addresses, orders: kept by no cache
        self._keep(resp)
        return str(text)

    async def post(self, path: str, form: dict[str, str], status: int = 303) -> Any:
        self.client.session.cookie_jar.clear()
        resp = await self.client.post(path, data=form, headers=self._headers(), allow_redirects=False)
        text = await resp.text()
        assert resp.status == status, f"POST {path}: {resp.status}: {text[:800]}"
        self._keep(resp)
        return resp

    async def submit(self, page: str, action: str, fields: dict[str, str], status: int = 303) -> Any:
        """Post the form of `page` whose action is `action`, with its hidden fields (the CSRF token)."""
        found = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)
        assert found, f"no form posting to {action}"
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', found.group(0)))
        assert "csrf_token" in hidden, found.group(0)
        return await self.post(action, {**hidden, **fields}, status)


@pytest.fixture
async def linen(db: asyncpg.Connection) -> dict[str, str]:
    """SKU -> variant id of a shirt in three sizes: 10, 3 and 1 in stock."""
    _, variants = await add_product(
        db, "linen-shirt", {"SHIRT-S": (2500, 10), "SHIRT-M": (2500, 3), "SHIRT-L": (2700, 1)}
    )
    return variants


async def add_to_cart(browser: Browser, variant: str, quantity: int = 1) -> str:
    """What the product page's form does; the cart page it leads to."""
    product = await browser.get("/p/linen-shirt")
    resp = await browser.submit(product, "/cart/items", {"variant_id": variant, "quantity": str(quantity)})
    assert resp.headers["Location"].startswith("/cart")
    return await browser.get(resp.headers["Location"])


def lines(html: str) -> list[tuple[str, str]]:
    """The cart page's (name, quantity) pairs."""
    return re.findall(r'<span class="name">([^<]*)</span>.*?name="quantity"[^>]*value="(\d+)"', html, re.S)


def item_ids(html: str) -> list[str]:
    return re.findall(r'action="/cart/items/([0-9a-f-]{36})"', html)


async def test_add_change_and_remove(client: Any, linen: dict[str, str]) -> None:
    ada = Browser(client)
    assert "Your cart is empty" in await ada.get("/cart")
    cart = await add_to_cart(ada, linen["SHIRT-S"], 2)
    assert "Added to your cart" in cart
    assert lines(cart) == [("Linen Shirt - SHIRT-S", "2")]
    assert "50.00 USD" in cart  # the subtotal, priced by the catalog
    cart = await add_to_cart(ada, linen["SHIRT-M"])
    first, second = item_ids(cart)
    resp = await ada.submit(cart, f"/cart/items/{first}", {"quantity": "3"})
    cart = await ada.get(resp.headers["Location"])
    assert [q for _, q in lines(cart)] == ["3", "1"] and "100.00 USD" in cart
    resp = await ada.submit(cart, f"/cart/items/{second}/remove", {})
    cart = await ada.get(resp.headers["Location"])
    assert "The item has been removed" in cart and len(lines(cart)) == 1
    resp = await ada.submit(cart, f"/cart/items/{first}", {"quantity": "0"})
    assert "Your cart is empty" in await ada.get(resp.headers["Location"])


async def test_odd_quantities_are_told_not_failed(client: Any, linen: dict[str, str]) -> None:
    ada = Browser(client)
    product = await ada.get("/p/linen-shirt")
    for fields, notice in [
        ({"variant_id": linen["SHIRT-S"], "quantity": "abc"}, "invalid"),
        ({"variant_id": "not-a-uuid", "quantity": "1"}, "invalid"),
        ({"variant_id": "00000000-0000-0000-0000-000000000000", "quantity": "1"}, "unavailable"),
        ({"variant_id": linen["SHIRT-S"], "quantity": "99"}, "added"),
        ({"variant_id": linen["SHIRT-S"], "quantity": "1"}, "limit"),
    ]:
        resp = await ada.submit(product, "/cart/items", fields)
        assert resp.headers["Location"] == f"/cart?notice={notice}"


async def test_a_post_without_its_csrf_token_is_refused(client: Any, linen: dict[str, str]) -> None:
    ada = Browser(client)
    await ada.get("/p/linen-shirt")  # the guest's token cookie
    form = {"variant_id": linen["SHIRT-S"], "quantity": "1"}
    html = await (await ada.post("/cart/items", form, status=403)).text()
    assert "<!doctype html>" in html and "expired" in html
    await ada.post("/cart/items", {**form, "csrf_token": "x" * 43}, status=403)
    stranger = Browser(client)  # a token from a page, without the cookie it was made for
    product = await ada.get("/p/linen-shirt")
    token = re.search(r'name="csrf_token" value="([^"]+)"', product)
    assert token
    await stranger.post("/cart/items", {**form, "csrf_token": token.group(1)}, status=403)
    assert "Your cart is empty" in await ada.get("/cart")


async def test_the_guest_cookies_are_httponly_and_lax(client: Any, linen: dict[str, str]) -> None:
    ada = Browser(client)
    product = await ada.get("/p/linen-shirt")
    resp = await ada.submit(product, "/cart/items", {"variant_id": linen["SHIRT-S"], "quantity": "1"})
    cookie = next(h for h in resp.headers.getall("Set-Cookie") if "shopflow_cart=" in h)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert cookie.startswith("__Host-")


async def test_another_persons_cart_is_not_reachable(client: Any, linen: dict[str, str]) -> None:
    ada, bob = Browser(client), Browser(client)
    cart = await add_to_cart(ada, linen["SHIRT-S"])
    (item,) = item_ids(cart)
    assert "Your cart is empty" in await bob.get("/cart")
    product = await bob.get("/p/linen-shirt")
    token = re.search(r'name="csrf_token" value="([^"]+)"', product)
    assert token
    resp = await bob.post(f"/cart/items/{item}/remove", {"csrf_token": token.group(1)})
    assert resp.headers["Location"] == "/cart?notice=gone"
    assert len(lines(await ada.get("/cart"))) == 1


async def signed_in_browser(client: Any, app: web.Application, email: str) -> Browser:
    """A browser holding the session cookie of a new customer's sign-in."""
    await sign_in(client, app, email)
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    session = cookie_names(app[SETTINGS])[0]
    browser = Browser(client)
    browser.cookies[session] = resp.cookies[session].value
    browser.bearer = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}
    return browser


async def test_a_signed_in_customers_cart_is_theirs(
    client: Any, app: web.Application, linen: dict[str, str]
) -> None:
    ada = await signed_in_browser(client, app, "ada@shop.example")
    cart = await add_to_cart(ada, linen["SHIRT-L"])
    assert len(lines(cart)) == 1
    assert not any("shopflow_cart" in name for name in ada.cookies)  # bound to the account, not a cookie
    assert "Your cart is empty" in await Browser(client).get("/cart")


GOOD = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
    "payment_provider": "manual",
}


def errors_of(html: str) -> list[str]:
    return re.findall(r'<span class="error" id="e-([a-z0-9_]+)">', html)


async def test_checkout_shows_the_form_with_shipping_and_tax(client: Any, linen: dict[str, str]) -> None:
    ada = Browser(client)
    await ada.get("/checkout", status=303)  # nothing to buy yet: the cart
    await add_to_cart(ada, linen["SHIRT-S"], 2)
    html = await ada.get("/checkout")
    for attribute in (
        'autocomplete="email"',
        'autocomplete="shipping name"',
        'autocomplete="shipping address-line1"',
        'autocomplete="shipping address-line2"',
        'autocomplete="shipping address-level2"',
        'autocomplete="shipping address-level1"',
        'autocomplete="shipping postal-code"',
        'autocomplete="shipping country"',
        'autocomplete="shipping tel" inputmode="tel"',
        'name="payment_provider" id="pay-manual" value="manual" checked',
    ):
        assert attribute in html, attribute
    assert "Shipping to United States</th><td>5.00 USD" in html and "55.00 USD" in html  # the shop's rates
    resp = await ada.submit(html, "/checkout", {**GOOD, "step": "update"}, status=200)
    html = await resp.text()
    assert "Shipping to United Kingdom</th><td>15.00 USD" in html and not errors_of(html)


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({key: "" for key in GOOD}, ["email", "name", "line1", "city", "postal_code"]),
        ({"email": "ada at example", "country": "XX", "phone": "call me"}, ["email", "country", "phone"]),
        (
            {"name": "Ada\x00", "line1": "x" * 201, "payment_provider": "bitcoin"},
            ["name", "line1", "payment_provider"],
        ),
        ({"line1": "x" * 201, "postal_code": "  ", "payment_provider": ""}, ["line1", "postal_code"]),
        ({"payment_provider": "bitcoin"}, ["payment_provider"]),
        ({"payment_provider": "stripe"}, ["payment_provider"]),  # not set up in this shop
    ],
)
async def test_odd_fields_come_back_on_the_form(
    client: Any, linen: dict[str, str], fields: dict[str, str], wrong: list[str]
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-S"])
    html = await ada.get("/checkout")
    resp = await ada.submit(html, "/checkout", {**GOOD, **fields}, status=422)
    html = await resp.text()
    assert resp.content_type == "text/html" and "Please check these details" in html
    assert sorted(errors_of(html)) == sorted(wrong)
    assert 'aria-invalid="true"' in html
    if fields.get("email"):
        assert f'value="{fields["email"]}"' in html  # what was typed, shown again


async def test_a_guest_checkout_leads_to_the_order_page(
    client: Any, linen: dict[str, str], db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-M"], 2)
    html = await ada.get("/checkout")
    resp = await ada.submit(html, "/checkout", GOOD)
    location = resp.headers["Location"]
    assert re.fullmatch(r"/orders/[0-9a-f-]{36}\?token=[A-Za-z0-9_-]+", location), location
    order = await ada.get(location)
    assert "Awaiting payment" in order and "Linen Shirt - SHIRT-M" in order
    assert "65.00 USD" in order  # 2 x 25.00 + 15.00 shipping to GB
    assert "Not shipped yet" in order and "London" in order
    assert await db.fetchval("SELECT reserved FROM stock WHERE sku = 'SHIRT-M'") == 2
    assert "Your cart is empty" in await ada.get("/cart")  # the next cart is a new one
    order_path = location.split("?")[0]
    await ada.get(order_path, status=404)  # without the secret
    await Browser(client).get(location.replace("token=", "token=x"), status=404)
    await Browser(client).get("/orders/not-an-id", status=404)


async def test_out_of_stock_names_the_items(
    client: Any, linen: dict[str, str], db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-M"], 3)
    html = await ada.get("/checkout")
    await db.execute("UPDATE stock SET on_hand = 1 WHERE sku = 'SHIRT-M'")
    resp = await ada.submit(html, "/checkout", GOOD, status=409)
    page = await resp.text()
    assert "Not enough in stock" in page and "Linen Shirt - SHIRT-M (SHIRT-M): only 1 left" in page
    assert 'value="Ada Lovelace"' in page  # the form kept


async def test_a_checkout_without_its_token_is_refused(client: Any, linen: dict[str, str]) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-S"])
    await ada.post("/checkout", GOOD, status=403)
    assert len(lines(await ada.get("/cart"))) == 1


async def test_a_signed_in_customers_order_is_theirs_alone(
    client: Any, app: web.Application, linen: dict[str, str]
) -> None:
    ada = await signed_in_browser(client, app, "ada@shop.example")
    await add_to_cart(ada, linen["SHIRT-L"])
    resp = await ada.submit(await ada.get("/checkout"), "/checkout", GOOD)
    location = resp.headers["Location"]
    assert "token" not in location
    assert "Linen Shirt - SHIRT-L" in await ada.get(location)
    bob = await signed_in_browser(client, app, "bob@shop.example")
    await bob.get(location, status=404)
    await Browser(client).get(location, status=404)


async def test_a_signed_in_checkout_starts_from_the_address_book(
    client: Any, app: web.Application, linen: dict[str, str]
) -> None:
    ada = await signed_in_browser(client, app, "ada@shop.example")
    book = {**{k: v for k, v in GOOD.items() if k not in ("email", "payment_provider") and v}}
    resp = await client.post(
        "/api/v1/me/addresses", json={**book, "is_default_shipping": True}, headers=ada.bearer
    )
    assert resp.status == 201, await resp.text()
    await add_to_cart(ada, linen["SHIRT-S"])
    html = await ada.get("/checkout")
    for value in ("ada@shop.example", "Ada Lovelace", "SW1Y 4JH", '<option value="GB" selected>'):
        assert value in html, value
    assert "Shipping to United Kingdom</th><td>15.00 USD" in html
    guest_token = "x" * 43  # a guest's kind of token is not this session's
    await ada.post("/checkout", {**GOOD, "csrf_token": guest_token}, status=403)
    resp = await ada.submit(html, "/checkout", {**GOOD, "email": "ada@shop.example"})
    assert "ada@shop.example" in await ada.get(resp.headers["Location"])


async def test_a_second_tap_on_place_order_links_to_the_first_order(
    client: Any, linen: dict[str, str], db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-S"])
    html = await ada.get("/checkout")
    before = dict(ada.cookies)  # what the second tap sends: it leaves before the first's answer
    first = await ada.submit(html, "/checkout", GOOD)
    after = dict(ada.cookies)
    ada.cookies = before
    second = await ada.submit(html, "/checkout", GOOD)
    assert second.headers["Location"] == "/cart?notice=placed"
    ada.cookies = {**after, **{k: v for k, v in ada.cookies.items() if k not in before}}
    cart = await ada.get(second.headers["Location"])
    assert "checked out already" in cart
    assert f'<a href="{first.headers["Location"]}">See the order you placed</a>' in cart
    assert await db.fetchval("SELECT count(*) FROM orders") == 1


async def test_a_guest_cancels_their_order_from_its_page(
    client: Any, linen: dict[str, str], db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-M"], 2)
    resp = await ada.submit(await ada.get("/checkout"), "/checkout", GOOD)
    location = resp.headers["Location"]
    order = await ada.get(location)
    cancel = location.split("?")[0] + "/cancel"
    mallory = Browser(client)  # without the secret: as if there were no such order
    token = re.search(r'name="csrf_token" value="([^"]+)"', await mallory.get("/p/linen-shirt"))
    assert token
    await mallory.post(cancel, {"csrf_token": token.group(1)}, status=404)
    await ada.post(cancel, {"token": location.split("token=")[1]}, status=403)  # without the CSRF token
    resp = await ada.submit(order, cancel, {})
    assert resp.headers["Location"] == f"{location}&notice=cancelled"
    order = await ada.get(resp.headers["Location"])
    assert "Your order has been cancelled" in order and "Cancelled" in order
    assert "Cancel this order" not in order
    resp = await ada.submit(await ada.get("/p/linen-shirt"), "/cart/items", {"variant_id": linen["SHIRT-S"]})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await ada.get("/cart"))
    assert csrf
    resp = await ada.post(cancel, {"csrf_token": csrf.group(1), "token": location.split("token=")[1]})
    assert resp.headers["Location"] == f"{location}&notice=too_late"  # cancelled already
    assert await db.fetchval("SELECT reserved FROM stock WHERE sku = 'SHIRT-M'") == 0
