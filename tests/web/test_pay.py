"""Paying from the storefront, as a browser with JavaScript off sees it: a saved address
chosen at checkout, Stripe's card step (Stripe.js from localstripe, let in by that page's CSP
alone), PayPal's approve-and-return through the local PayPal server, and a cancelled approval."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from shopflow.platform.settings import Settings
from tests.checkout.conftest import pay_with_card, paypal_server, stripe_server
from tests.providers import paypal, stripe
from tests.providers.paypal import PayPalServer
from tests.web.browser import Chromium, Look, axe_violations
from tests.web.test_cart import GOOD, Browser, add_to_cart, errors_of, linen, signed_in_browser

__all__ = ["linen", "paypal_server", "stripe_server"]  # fixtures this module uses
PUBLISHABLE_KEY = "pk_test_shopflow"


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], stripe_server: str, paypal_server: PayPalServer
) -> Settings:
    """A shop taking cards through localstripe and PayPal through the local PayPal server."""
    return make_settings(
        **stripe.shop_settings(stripe_server),
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_js_url=f"{stripe_server}/js.stripe.com/v3/",
        paypal_client_id=paypal.CLIENT_ID,
        paypal_client_secret=paypal.SECRET,
        paypal_webhook_id=paypal.WEBHOOK_ID,
        paypal_api_base=paypal_server.base_url,
    )


async def csp_of(browser: Browser, path: str) -> str:
    browser.client.session.cookie_jar.clear()
    resp = await browser.client.get(path, headers=browser._headers(), allow_redirects=False)
    assert resp.status == 200, await resp.text()
    return str(resp.headers["Content-Security-Policy"])


async def place(browser: Browser, variant: str, fields: dict[str, str]) -> str:
    """A cart of one item checked out with `fields`; where the answer leads."""
    await add_to_cart(browser, variant)
    resp = await browser.submit(await browser.get("/checkout"), "/checkout", {**GOOD, **fields})
    return str(resp.headers["Location"])


BOOK = [
    {"label": "Home", "name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
     "postal_code": "SW1Y 4JH", "country": "GB", "is_default_shipping": True},
    {"label": "Work", "name": "Ada King", "line1": "Unter den Linden 1", "city": "Berlin",
     "postal_code": "10117", "country": "DE"},
]  # fmt: skip


async def test_a_saved_address_is_chosen_at_checkout(
    client: Any, app: web.Application, linen: dict[str, str], db: asyncpg.Connection
) -> None:
    ada = await signed_in_browser(client, app, "ada@shop.example")
    ids = []
    for entry in BOOK:
        resp = await client.post("/api/v1/me/addresses", json=entry, headers=ada.bearer)
        assert resp.status == 201, await resp.text()
        ids.append((await resp.json())["id"])
    home, work = ids
    await add_to_cart(ada, linen["SHIRT-S"])
    html = await ada.get("/checkout")
    assert re.search(rf'name="shipping_address_id" id="[^"]+" value="{home}" checked', html)  # the default
    assert re.search(rf'name="shipping_address_id" id="[^"]+" value="{work}">', html)
    assert 'id="ship-new" value="new">' in html and "Unter den Linden 1" in html
    assert "Shipping to United Kingdom</th><td>15.00 USD" in html
    # the work address: shipping and tax for Germany first, then the order
    resp = await ada.submit(html, "/checkout", {"shipping_address_id": work, "step": "update"}, status=200)
    html = await resp.text()
    assert "Shipping to Germany</th>" in html and not errors_of(html)
    assert re.search(rf'value="{work}" checked', html)
    # another customer's address, or no address at all: the form again, saying so
    bob = await signed_in_browser(client, app, "bob@shop.example")
    resp = await client.post("/api/v1/me/addresses", json=BOOK[1], headers=bob.bearer)
    bobs = (await resp.json())["id"]
    for wrong in (bobs, "not-an-address"):
        resp = await ada.submit(html, "/checkout", {**GOOD, "shipping_address_id": wrong}, status=422)
        page = await resp.text()
        assert errors_of(page) == ["shipping_address_id"], wrong
        assert '<a href="#f-shipping_address_id">Choose one of your addresses' in page
    resp = await ada.submit(html, "/checkout", {**GOOD, "billing_address_id": bobs}, status=422)
    assert errors_of(await resp.text()) == ["billing_address_id"]
    resp = await ada.submit(
        html, "/checkout", {**GOOD, "shipping_address_id": work, "billing_address_id": home, "name": ""}
    )  # the new-address fields are not asked for when a saved one is chosen
    order = await ada.get(resp.headers["Location"])
    assert "Berlin" in order and "London" not in order
    row = await db.fetchrow("SELECT shipping_address, billing_address FROM orders")
    assert '"Berlin"' in row["shipping_address"] and '"London"' in row["billing_address"]


async def test_a_new_address_is_still_one_choice_away(
    client: Any, app: web.Application, linen: dict[str, str]
) -> None:
    ada = await signed_in_browser(client, app, "ada@shop.example")
    resp = await client.post("/api/v1/me/addresses", json=BOOK[1], headers=ada.bearer)
    assert resp.status == 201
    location = await place(ada, linen["SHIRT-S"], {"shipping_address_id": "new", "city": "Leeds"})
    assert "Leeds" in await ada.get(location)


async def test_book_choices_from_someone_without_a_book_are_dropped(
    client: Any, app: web.Application, linen: dict[str, str]
) -> None:
    """Their form shows no saved addresses: an id an autofill posts is not an error on a field
    they cannot see, and the address they typed is the order's."""
    bob = await signed_in_browser(client, app, "bob@shop.example")
    resp = await client.post("/api/v1/me/addresses", json=BOOK[1], headers=bob.bearer)
    bobs = (await resp.json())["id"]
    ada = await signed_in_browser(client, app, "ada@shop.example")  # no address saved
    for who, wrong in ((Browser(client), "not-an-address"), (Browser(client), bobs), (ada, bobs)):
        location = await place(
            who, linen["SHIRT-S"], {"shipping_address_id": wrong, "billing_address_id": wrong}
        )
        assert "/orders/" in location, (wrong, location)
        order = await who.get(location)
        assert GOOD["city"] in order and "Berlin" not in order, wrong


async def test_the_card_step_loads_stripe_js_there_only(
    client: Any, linen: dict[str, str], stripe_server: str, db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-S"])
    checkout = await ada.get("/checkout")
    for value in ("manual", "stripe", "paypal"):
        assert f'name="payment_provider" id="pay-{value}" value="{value}"' in checkout
    assert "Card payment needs JavaScript" in checkout  # said in a <noscript>, by the card choice
    assert stripe_server not in await csp_of(ada, "/checkout")
    resp = await ada.submit(checkout, "/checkout", {**GOOD, "payment_provider": "stripe"})
    step = resp.headers["Location"]
    assert re.fullmatch(r"/orders/[0-9a-f-]{36}/pay\?token=[A-Za-z0-9_-]+", step), step
    html = await ada.get(step)
    secret = re.search(r'data-client-secret="(pi_\w+?)_secret_\w+"', html)
    assert secret, html
    assert f'<script src="{stripe_server}/js.stripe.com/v3/" defer></script>' in html
    assert re.search(r'<script src="/static/pay\.[0-9a-f]{10}\.js" defer></script>', html)
    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in html
    assert "Card payment needs JavaScript" in html  # with JavaScript off: said plainly
    policy = await csp_of(ada, step)
    assert f"script-src 'self' {stripe_server};" in policy
    assert f"frame-src {stripe_server};" in policy and f"connect-src 'self' {stripe_server};" in policy
    assert "unsafe-inline" not in policy
    order_page = step.replace("/pay?", "?")
    assert stripe_server not in await csp_of(ada, order_page)
    assert stripe_server not in await csp_of(ada, "/")
    html = await ada.get(order_page)
    assert "Awaiting payment" in html and f'href="{step}">Pay by card</a>' in html
    # what Stripe.js does in the buyer's browser, then Stripe's redirect to return_url
    assert await pay_with_card(stripe_server, secret.group(1)) == "succeeded"
    back = f"{order_page}&payment_intent={secret.group(1)}&redirect_status=succeeded"
    html = await ada.get(back)
    assert "Thank you: your payment went through." in html and '<strong class="status">Paid</strong>' in html
    assert "Pay by card" not in html
    assert await db.fetchval("SELECT status FROM orders") == "paid"
    await ada.get(step, status=303)  # paid: nothing left to pay here


async def test_a_declined_card_is_said_on_the_order_page(
    client: Any, linen: dict[str, str], stripe_server: str
) -> None:
    ada = Browser(client)
    step = await place(ada, linen["SHIRT-S"], {"payment_provider": "stripe"})
    secret = re.search(r'data-client-secret="(pi_\w+?)_secret_', await ada.get(step))
    assert secret
    assert await pay_with_card(stripe_server, secret.group(1), "4000000000000341") == "declined"
    html = await ada.get(step.replace("/pay?", "?") + "&redirect_status=failed")
    assert "The payment was declined" in html and "Pay by card" in html


async def follow_paypal(paypal_server: PayPalServer, approve_url: str) -> str:
    """The buyer at PayPal, approving: the path (with query) PayPal sends them back to."""
    assert approve_url.startswith(f"{paypal_server.base_url}/checkoutnow?token=")
    async with aiohttp.ClientSession() as http, http.get(approve_url, allow_redirects=False) as resp:
        assert resp.status == 302
        back = urlsplit(resp.headers["Location"])
    return f"{back.path}?{back.query}"


async def test_paypal_approve_and_return_captures_the_payment(
    client: Any, linen: dict[str, str], paypal_server: PayPalServer, db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    await add_to_cart(ada, linen["SHIRT-M"], 2)
    checkout = await ada.get("/checkout")
    policy = await csp_of(ada, "/checkout")
    assert f"form-action 'self' {paypal_server.base_url};" in policy  # the form's answer leads to PayPal
    resp = await ada.submit(checkout, "/checkout", {**GOOD, "payment_provider": "paypal"})
    back = await follow_paypal(paypal_server, resp.headers["Location"])
    assert back.startswith("/checkout/paypal?order=")
    order_id = back.split("order=")[1].split("&")[0]
    assert await db.fetchval("SELECT status FROM orders") == "pending_payment"
    await Browser(client).get(back, status=404)  # a guest order, to a browser without its secret
    resp = await ada.client.get(back, headers=ada._headers(), allow_redirects=False)
    assert resp.status == 303
    location = resp.headers["Location"]
    assert re.fullmatch(rf"/orders/{order_id}\?token=[A-Za-z0-9_-]+&notice=paid", location), location
    html = await ada.get(location)
    assert "Thank you: your payment went through." in html and '<strong class="status">Paid</strong>' in html
    assert await db.fetchval("SELECT status FROM orders") == "paid"
    captured = [o for o in paypal_server.orders.values() if o["status"] == "COMPLETED"]
    assert len(captured) == 1
    resp = await ada.client.get(back, headers=ada._headers(), allow_redirects=False)  # a reload
    assert resp.status == 303 and "notice" not in resp.headers["Location"]


async def test_a_signed_in_paypal_payment_comes_back_to_the_order(
    client: Any, app: web.Application, linen: dict[str, str], paypal_server: PayPalServer
) -> None:
    ada = await signed_in_browser(client, app, "ada@shop.example")
    approve = await place(ada, linen["SHIRT-L"], {"payment_provider": "paypal"})
    resp = await ada.client.get(
        await follow_paypal(paypal_server, approve), headers=ada._headers(), allow_redirects=False
    )
    assert re.fullmatch(r"/orders/[0-9a-f-]{36}\?notice=paid", resp.headers["Location"])
    assert "Paid" in await ada.get(resp.headers["Location"])


async def test_a_cancelled_paypal_approval_offers_to_pay_again(
    client: Any, linen: dict[str, str], paypal_server: PayPalServer, db: asyncpg.Connection
) -> None:
    ada = Browser(client)
    approve = await place(ada, linen["SHIRT-S"], {"payment_provider": "paypal"})
    order_id = await db.fetchval("SELECT id FROM orders")
    resp = await ada.client.get(
        f"/checkout/paypal?order={order_id}&cancelled=1", headers=ada._headers(), allow_redirects=False
    )
    location = resp.headers["Location"]
    assert resp.status == 303 and location.endswith("&notice=not_paid"), location
    html = await ada.get(location)
    assert "The payment was not completed, so nothing was charged." in html
    assert "Awaiting payment" in html
    pay = re.search(r'<a class="button" href="([^"]+)">Pay with PayPal</a>', html)
    assert pay
    resp = await ada.client.get(pay.group(1), headers=ada._headers(), allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == approve  # the same approval, again
    # approving without the capture having happened: the order page says it is not paid
    await ada.get("/checkout/paypal?order=not-an-id", status=404)
    assert await db.fetchval("SELECT status FROM orders") == "pending_payment"


# In a real browser (Debian's chromium): the cart's JavaScript, and the card step's Stripe.js.


async def count(page: Any) -> str:
    """The header's cart count, as read out."""
    return " ".join((await page.text_content("#cart-count") or "").split())


async def live_says(page: Any, text: str) -> None:
    await page.wait_for_function("t => document.getElementById('live').textContent === t", arg=text)


async def test_cart_changes_are_counted_and_announced_and_stepped_by_keyboard(
    chromium: Chromium, storefront: str
) -> None:
    async def shop() -> list[str]:
        async with chromium.page(storefront, Look()) as (page, problems):
            await page.goto("/p/red-ceramic-mug")
            assert await count(page) == ""
            await page.get_by_role("button", name="Add to cart").click()
            await live_says(page, "Added to your cart.")
            assert page.url.endswith("/p/red-ceramic-mug")  # stayed on the product
            assert await count(page) == "(1 item)"
            await page.get_by_role("link", name="View your cart").click()
            await page.wait_for_url("**/cart")
            more = page.get_by_role("button", name="One more Red Ceramic Mug")
            await more.focus()
            await page.keyboard.press("Enter")
            await live_says(page, "Your cart has been updated.")
            assert await page.input_value("input[name=quantity]") == "2"
            assert await count(page) == "(2 items)"
            assert await page.evaluate("document.activeElement.getAttribute('aria-label')") == (
                "One more Red Ceramic Mug"
            )  # focus kept where it was, on the new page content
            await page.keyboard.press("Shift+Tab")
            await page.keyboard.press("Shift+Tab")
            assert await page.evaluate("document.activeElement.getAttribute('aria-label')") == (
                "One less Red Ceramic Mug"
            )
            for left in ("1", "0"):
                await page.keyboard.press("Space")
                if left == "1":
                    quantity = "() => document.querySelector('input[name=quantity]').value === '1'"
                    await page.wait_for_function(quantity)
            await live_says(page, "The item has been removed.")
            assert "Your cart is empty" in await page.inner_text("main")
            assert await count(page) == ""
            assert await page.evaluate("document.activeElement.tagName") == "H1"
            await page.reload()
            assert await count(page) == ""
            return await problems.collect(page)

    assert await chromium.run(shop()) == []


async def test_without_javascript_the_cart_forms_post_as_before(chromium: Chromium, storefront: str) -> None:
    async def shop() -> str:
        async with chromium.page(storefront, Look(javascript=False, device="mobile")) as (page, _):
            await page.goto("/p/red-ceramic-mug")
            await page.get_by_role("button", name="Add to cart").click()
            await page.wait_for_url("**/cart?notice=added")
            assert await page.locator("button.step").count() == 0
            return await count(page)

    assert await chromium.run(shop()) == "(1 item)"


async def test_the_card_step_mounts_stripe_js_under_its_csp(
    chromium: Chromium, storefront: str, stripe_server: str
) -> None:
    async def pay() -> list[str]:
        async with chromium.page(storefront, Look()) as (page, problems):
            await page.goto("/p/red-ceramic-mug")
            await page.get_by_role("button", name="Add to cart").click()
            await live_says(page, "Added to your cart.")
            await page.goto("/checkout")
            for field, value in GOOD.items():
                if field not in ("country", "payment_provider", "line2", "region"):
                    await page.fill(f"#f-{field}", value)
            await page.select_option("#f-country", "GB")
            await page.check("#pay-stripe")
            await page.get_by_role("button", name=re.compile("^Place order")).click()
            await page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/pay\?token="))
            # localstripe's Stripe.js has no Payment Element: its card Element is mounted instead
            await page.wait_for_selector("#payment-element input[placeholder=number]")
            assert await page.is_enabled("#pay-button") and await page.is_visible("#stripe-pay")
            found = await problems.collect(page)
            for scheme in ("light", "dark"):  # the step in both themes (a guest's: the system's)
                await page.emulate_media(color_scheme=scheme)
                found += [f"{scheme}: {v}" for v in await axe_violations(page)]
            return found

    assert await chromium.run(pay()) == []
