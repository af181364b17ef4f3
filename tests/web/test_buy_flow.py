"""The buy flow in a real browser (Debian's chromium through Playwright): a guest and a
signed-in customer buy with JavaScript on (cart changes made in place, announced and
counted) and off, on a desktop and a phone; the checkout is used with the keyboard alone;
odd, empty and autofilled fields come back as the form or place the order, never an error
page; a form posted from another origin is refused; axe, the console, the CSP and a 320 px
screen find nothing wrong on the product page's notice, the cart, checkout and order pages."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Locator

from tests.catalog.conftest import Catalog
from tests.conftest import sign_in
from tests.web.browser import Chromium, Look, axe_violations
from tests.web.shopper import Keyboard, Shopper, text

PASSWORD = "correct horse battery staple"  # tests.conftest.sign_in's
ADDRESS = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
}
X = "\N{MULTIPLICATION SIGN}"  # between an order line's name and quantity
ORDER_PAGE = re.compile(r"/orders/[0-9a-f-]{36}(\?token=[A-Za-z0-9_-]+)?$")


@pytest.fixture
async def shirt(client: Any, staff: dict[str, str], shop: Catalog) -> dict[str, Any]:
    """A shirt in three sizes in the "home" category: 10, 5 and none in stock."""

    def size(name: str, sku: str, amount: int, on_hand: int) -> dict[str, Any]:
        price = {"amount": amount, "currency": "USD"}
        return {"sku": sku, "name": name, "options": {"size": sku[-1]}, "price": price, "on_hand": on_hand}

    body = {
        "name": "Linen Shirt",
        "description": "A light shirt.",
        "category_id": shop.categories["home"],
        "status": "active",
        "variants": [
            size("Small", "SHIRT-S", 2500, 10),
            {**size("Medium", "SHIRT-M", 2500, 5), "position": 1},
            {**size("Large", "SHIRT-L", 2700, 0), "position": 2},
        ],
    }
    resp = await client.post("/api/v1/products", json=body, headers=staff)
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def buy(who: Shopper) -> str:
    """Home → category → product → a size → cart (a second item, a quantity changed, an item
    removed) → checkout (shipping and tax shown for the country chosen) → the order's page."""
    page = who.page
    await who.open("/")
    await who.follow(page.locator(".tiles").get_by_role("link", name="Home", exact=True))
    assert page.url.endswith("/c/home")
    await who.follow(page.locator(".grid").get_by_role("link", name="Linen Shirt"))
    assert page.url.endswith("/p/linen-shirt")
    assert await page.get_by_label("Large").is_disabled()  # sold out
    await who.press(page.get_by_text("Medium · size: M"))
    assert await page.get_by_label("Medium").is_checked()
    await page.get_by_label("Quantity", exact=True).fill("2")
    await who.change_by(page.get_by_role("button", name="Add to cart"), "Added to your cart.", "(2 items)")

    await page.get_by_role("searchbox", name="Search products").fill("blue mug")
    await who.go(page.get_by_role("searchbox", name="Search products").press("Enter"))
    await who.follow(page.locator(".grid").get_by_role("link", name="Blue Mug"))
    await who.change_by(page.get_by_role("button", name="Add to cart"), "Added to your cart.", "(3 items)")
    await who.to_cart()
    assert await page.locator("table.cart tbody tr").count() == 2

    await page.get_by_label("Quantity of Linen Shirt - Medium").fill("3")
    update = page.get_by_role("button", name="Update Linen Shirt - Medium")
    await who.change_by(update, "Your cart has been updated.", "(4 items)")
    assert await page.get_by_label("Quantity of Linen Shirt - Medium").input_value() == "3"
    await who.change_by(
        page.get_by_role("button", name="Remove Blue Mug"), "The item has been removed.", "(3 items)"
    )
    assert await page.locator("table.cart tbody tr").count() == 1
    assert "Subtotal (3 items) 75.00 USD" in await text(page, "table.cart tfoot")

    await who.follow(page.get_by_role("link", name="Go to checkout"))
    await who.fill({**ADDRESS, "country": "GB"})
    await who.follow(page.get_by_role("button", name="Update shipping and tax"))
    totals = await text(page, "table.totals")
    assert "Shipping to United Kingdom 15.00 USD" in totals and "Tax" in totals, totals
    assert await page.get_by_label("Town or city").input_value() == "London"  # kept
    assert await page.get_by_label("Pay later: the shop tells you how").is_checked()
    total = re.search(r"Total (\d+\.\d\d USD)", totals)
    assert total, totals
    await who.place()
    assert ORDER_PAGE.search(page.url), page.url
    order = await text(page, "main")
    shows = [f"Linen Shirt - Medium {X} 3", "Awaiting payment", f"Total {total.group(1)}"]
    for shown in [*shows, "SW1Y 4JH United Kingdom"]:
        assert shown in order, (shown, order)
    return page.url


@pytest.mark.parametrize("device", ["desktop", "mobile"])
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_a_guest_buys_from_home_to_order_page(
    chromium: Chromium, storefront: str, shirt: dict[str, Any], device: str, javascript: bool
) -> None:
    async def flow() -> list[str]:
        look = Look(device=device, javascript=javascript)  # type: ignore[arg-type]
        async with chromium.page(storefront, look) as (page, problems):
            who = Shopper(page, problems, look)
            assert "token=" in await buy(who)
            await who.open("/cart")
            assert "Your cart is empty." in await text(page, "main")  # the next cart is a new one
            return who.seen

    assert await chromium.run(flow()) == []


async def test_a_signed_in_customer_checks_out_from_the_address_book(
    chromium: Chromium, storefront: str, shirt: dict[str, Any], client: Any, app: web.Application
) -> None:
    email = "grace@shop.example"
    bearer = await sign_in(client, app, email)
    book: dict[str, Any] = {
        "name": "Grace Hopper",
        "line1": "1 Navy Yard",
        "city": "Arlington",
        "region": "VA",
        "postal_code": "22202",
        "country": "US",
        "phone": "+1 703 555 0100",
        "is_default_shipping": True,
    }
    resp = await client.post("/api/v1/me/addresses", json=book, headers=bearer)
    assert resp.status == 201, await resp.text()

    async def flow() -> list[str]:
        async with chromium.page(storefront) as (page, problems):
            who = Shopper(page, problems, Look())
            signed = await page.request.post(
                storefront + "/api/v1/auth/login", data={"email": email, "password": PASSWORD}
            )
            assert signed.status == 200, await signed.text()  # its session cookie is now the browser's
            await who.add_to_cart(quantity=2)
            cookies = await page.context.cookies()
            assert not [c for c in cookies if "shopflow_cart" in c["name"]]  # the cart is the account's
            await who.follow(page.get_by_role("link", name="Go to checkout"))
            assert await page.get_by_label("Email", exact=True).input_value() == email
            saved = page.get_by_label("Grace Hopper, 1 Navy Yard, Arlington 22202, United States (default)")
            assert await saved.is_checked()  # the default address, chosen
            assert not await page.get_by_label("Full name", exact=True).is_visible()  # no new one asked for
            assert "Shipping to United States 5.00 USD" in await text(page, "table.totals")
            await who.place()
            assert re.search(r"/orders/[0-9a-f-]{36}$", page.url), page.url  # no secret: the account's order
            order = await text(page, "main")
            for shown in (f"Linen Shirt - Small {X} 2", email, "Grace Hopper", "Arlington"):
                assert shown in order, (shown, order)
            await who.open(page.url.removeprefix(storefront))  # it stays theirs to see
            await who.follow(page.get_by_role("button", name="Cancel this order"))
            focused = await page.evaluate("document.activeElement.textContent")
            assert focused.startswith("Your order has been cancelled."), focused  # the news has the focus
            return who.seen

    assert await chromium.run(flow()) == []


async def test_a_keyboard_alone_buys_with_the_focus_always_shown(
    chromium: Chromium, storefront: str, shirt: dict[str, Any]
) -> None:
    medium = next(v["id"] for v in shirt["variants"] if v["sku"] == "SHIRT-M")

    async def flow() -> list[str]:
        async with chromium.page(storefront) as (page, problems):
            who = Shopper(page, problems, Look())
            keys = Keyboard(who)
            await who.open("/p/linen-shirt")
            await keys.to(f"v-{next(v['id'] for v in shirt['variants'] if v['sku'] == 'SHIRT-S')}")
            await page.keyboard.press("ArrowDown")  # Small → Medium (Large is sold out)
            assert (await keys.focused())["id"] == f"v-{medium}"
            await keys.to("quantity")
            await page.keyboard.press("ArrowUp")
            assert await page.get_by_label("Quantity", exact=True).input_value() == "2"
            await keys.to("Add to cart")
            added = await keys.change("Added to your cart.", "(2 items)")
            assert added["text"] == "Add to cart", added  # the page stays, and the focus with it
            await keys.to("View your cart")  # the notice, right after the button
            await keys.submit()
            assert page.url.endswith("/cart"), page.url

            quantity = page.locator("form.qty input[name=quantity]")
            item = await quantity.get_attribute("id")
            assert item
            await keys.to(item)
            await page.keyboard.press("ArrowUp")
            await keys.to("Update")
            # Space presses a button; the cart is changed in place, its new content's top focused
            updated = await keys.change("Your cart has been updated.", "(3 items)", "Space")
            assert (updated["tag"], updated["text"]) == ("h1", "Your cart"), updated
            assert await quantity.input_value() == "3"
            for step, count in ((f"more-{item}", "(4 items)"), (f"less-{item}", "(3 items)")):
                await keys.to(step, "Tab" if step.startswith("more") else "Shift+Tab")
                stepped = await keys.change("Your cart has been updated.", count)
                assert stepped["id"] == step, stepped  # the same button, in the new content
            assert await quantity.input_value() == "3"
            await keys.to("Go to checkout")
            await keys.submit()

            await keys.type("f-email", "ada@")  # wrong: the form comes back with the summary focused
            await keys.type("f-name", "Ada Lovelace")
            await keys.to("Place order")
            await keys.submit(status=422)
            summary = await keys.focused()
            assert "errors" in summary["cls"], summary
            await keys.to("Enter an email address")
            await page.keyboard.press("Enter")  # the summary's link leads to its field
            assert (await keys.focused())["id"] == "f-email"
            await page.keyboard.press("ControlOrMeta+a")
            await page.keyboard.type(ADDRESS["email"])
            for name in ("line1", "city", "postal_code"):
                await keys.type(f"f-{name}", ADDRESS[name])
            await keys.to("f-country")
            await page.keyboard.type("United K")  # a closed select picks by typing
            await keys.to("Update shipping and tax")
            await keys.submit()
            assert (await keys.focused())["id"] == "summary"  # where the new totals are
            assert "Shipping to United Kingdom 15.00 USD" in await text(page, "table.totals")
            await keys.to("pay-manual")
            await page.keyboard.press("Space")
            await keys.to("Back to cart")
            await keys.to("pay-manual", "Shift+Tab")  # and back again
            await keys.to("Place order")
            await keys.submit()
            assert ORDER_PAGE.search(page.url), page.url
            assert f"Linen Shirt - Medium {X} 3" in await text(page, "main")
            for control in ("f-line2", "f-region", "f-phone", "Back to cart"):
                assert control in keys.stops, (control, keys.stops)
            return who.seen

    assert await chromium.run(flow()) == []


FIELDS = ("email", "name", "line1", "line2", "city", "region", "postal_code", "phone")
MAXLENGTH = {"city": 100, "region": 100, "postal_code": 20}  # the inputs' maxlength, where not 200
GOOD = {**ADDRESS, "line2": "", "region": "", "phone": ""}
# What is typed into the checkout, and the fields that come back marked wrong, each with words
# its message must hold (none: the order is placed). The browser's maxlength cuts what is
# typed; autofill below goes around it.
EMPTY = {name: "Enter" for name in ("email", "name", "line1", "city", "postal_code")}
ODD: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("empty", dict.fromkeys(FIELDS, ""), EMPTY),
    ("spaces only", dict.fromkeys(FIELDS, "   "), EMPTY),
    (
        "control characters, a phone in words, half an email",
        {
            "name": "Ada\x01Lovelace",
            "line1": "12\x07 Square",
            "phone": "call me on 0207",
            "email": "ada@example",
        },
        {
            "name": "control character from the name",
            "line1": "control character from the address",
            "phone": "Enter a phone number",
            "email": "Enter an email address",
        },
    ),
    ("long", {"name": "Ada " * 100, "line1": "9" * 300, "city": "L" * 150, "region": "R" * 150}, {}),
    (
        "emoji, RTL, markup, spaces around, a lowercase postcode, a phone with signs",
        {
            "name": "  Zoë 🛒 Ångström <script>alert(1)</script>  ",
            "line1": "شارع الملك فهد ١٢",
            "line2": '<b>Flat 3</b> & "Co"',
            "city": " תל אביב-יפו ",
            "postal_code": "sw1y 4jh",
            "phone": "+44 (0)20 7946-0000",
        },
        {},
    ),
]

# Autofill: many fields set at once (past maxlength), input and change fired, and fields the
# page does not show posted with them.
AUTOFILL = """([values, extra]) => {
  const form = document.querySelector('form.checkout');
  for (const [name, value] of Object.entries(values)) {
    const el = form.elements[name];
    el.value = value;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    el.dispatchEvent(new Event('change', {bubbles: true}));
  }
  for (const [name, value] of Object.entries(extra)) {
    const el = document.createElement('input');
    el.type = 'hidden'; el.name = name; el.value = value;
    form.append(el);
  }
}"""
AUTOFILLED: list[tuple[str, dict[str, str], dict[str, str], dict[str, str]]] = [
    (
        "past maxlength",
        {**GOOD, "line1": "x" * 5000, "postal_code": "1" * 40, "email": "a" * 300 + "@example.com"},
        {},
        {"line1": "Shorten the address to 200", "postal_code": "Shorten the postal code to 20", "email": ""},
    ),
    (
        "fields not shown",
        {**GOOD, "country": "GB", "phone": "+44 20 7946 0000"},
        {"organization": "Analytical Engines", "shipping_address_id": "not-an-id", "cc-number": "4242"},
        {},
    ),
]


async def to_checkout(who: Shopper) -> None:
    """The checkout form, with the shirt in the cart."""
    if who.page.url.endswith("/checkout"):  # the form, sent back
        return
    await who.add_to_cart()
    await who.follow(who.page.get_by_role("link", name="Go to checkout"))


async def direction(element: Locator) -> str:
    return str(await element.evaluate("el => getComputedStyle(el).direction"))


async def outcome(who: Shopper, wrong: dict[str, str], what: str) -> None:
    """The form again, each wrong field marked, told and named in the summary; or the order's page."""
    page = who.page
    if not wrong:
        assert ORDER_PAGE.search(page.url), (what, page.url, await text(page, "main"))
        return
    assert await page.title() == "Check your details · Checkout · ShopFlow", what
    marked = {await el.get_attribute("name") for el in await page.locator("[aria-invalid=true]").all()}
    assert marked == set(wrong), (what, marked)
    links = await page.locator(".errors a").evaluate_all("links => links.map(a => a.hash)")
    assert sorted(links) == sorted(f"#f-{name}" for name in wrong), (what, links)
    for name, words in wrong.items():
        message = await text(page, f"#e-{name}")
        assert words in message and len(message) < 120, (what, name, message)


async def test_odd_empty_and_autofilled_fields_never_end_in_an_error_page(
    chromium: Chromium, storefront: str, shirt: dict[str, Any]
) -> None:
    async def flow() -> list[str]:
        async with chromium.page(storefront) as (page, problems):
            dialogs: list[str] = []
            page.on("dialog", lambda d: dialogs.append(d.message))
            who = Shopper(page, problems, Look())
            for what, fields, wrong in ODD:
                await to_checkout(who)
                await who.fill({**GOOD, **fields})
                if what.startswith("emoji"):  # Arabic typed runs right to left, as shown after
                    assert await direction(page.get_by_label("Address", exact=True)) == "rtl"
                await who.place(422 if wrong else 200)
                await outcome(who, wrong, what)
                if what.startswith("emoji"):
                    assert await direction(page.locator("address bdi", has_text="شارع")) == "rtl"
                if wrong:  # what was typed is shown again, as the browser sent it
                    for name, value in fields.items():
                        shown = await page.locator(f"form.checkout [name={name}]").input_value()
                        assert shown.strip() == value.strip(), (what, name, shown)
                else:
                    shown = await text(page, "address")
                    for name, value in fields.items():
                        if name in ("name", "line1", "line2", "city", "region", "postal_code"):
                            typed = value.strip()[: MAXLENGTH.get(name, 200)].strip()
                            assert typed in shown, (what, name, shown)
            for what, values, extra, wrong in AUTOFILLED:
                await to_checkout(who)
                await page.evaluate(AUTOFILL, [values, extra])
                await who.place(422 if wrong else 200)
                await outcome(who, wrong, what)
            assert dialogs == []  # the <script> typed was shown as text, never run
            return who.seen

    assert await chromium.run(flow()) == []


def forged(shop: str, variant: str) -> str:
    """Another site's page whose forms post to the shop without its token (one a made-up token)."""
    fields = "".join(
        f'<input type="hidden" name="{k}" value="{v}">' for k, v in {**GOOD, "country": "GB"}.items()
    )
    return f"""<!doctype html><html lang="en"><title>Win a prize</title><link rel="icon" href="data:,">
<form method="post" action="{shop}/checkout">{fields}<button>Claim</button></form>
<form method="post" action="{shop}/cart/items"><input type="hidden" name="variant_id" value="{variant}">
<input type="hidden" name="quantity" value="99"><input type="hidden" name="csrf_token" value="{"x" * 43}">
<button>Add</button></form>"""


async def test_forms_posted_from_another_origin_are_refused(
    chromium: Chromium, storefront: str, shirt: dict[str, Any], db: asyncpg.Connection
) -> None:
    other = web.Application()
    html = forged(storefront, shirt["variants"][0]["id"])

    async def bait(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    other.router.add_get("/", bait)
    server = TestServer(other, host="127.0.0.1")  # another port: same site, another origin
    await server.start_server()

    async def flow() -> list[str]:
        async with chromium.page(storefront) as (page, problems):
            who = Shopper(page, problems, Look())
            await who.add_to_cart()  # the browser holds the shop's cookies, which Lax sends here
            for button in ("Claim", "Add"):
                await who.open(str(server.make_url("/")))
                await who.follow(page.get_by_role("button", name=button), status=403)
                assert await page.locator("h1").inner_text() == "This form has expired", button
            await who.open("/cart")
            assert await page.locator("form.qty input[name=quantity]").input_value() == "1"  # untouched
            return who.seen

    try:
        assert await chromium.run(flow()) == []
    finally:
        await server.close()
    assert await db.fetchval("SELECT count(*) FROM orders") == 0


async def through_checkout(
    who: Shopper, each: Callable[[str], Awaitable[None]], order: dict[str, str]
) -> None:
    """The product page with its notice of the item added (JavaScript on), cart, checkout,
    checkout sent back with mistakes (422) and the order placed with `order`'s fields: `each`
    page looked at in turn."""
    await who.add(quantity=2)
    if who.look.javascript:
        await each("product, with the item added")
    await who.to_cart()
    await each("cart")
    await who.follow(who.page.get_by_role("link", name="Go to checkout"))
    await each("checkout")
    await who.fill({"email": "ada@", "name": order["name"], "line1": order["line1"]})
    await who.place(422)
    await each("checkout with mistakes")
    await who.fill(order)
    await who.place()
    assert ORDER_PAGE.search(who.page.url), who.page.url
    await each("order")


async def test_axe_finds_nothing_on_cart_checkout_and_order_in_either_theme(
    chromium: Chromium, storefront: str, shirt: dict[str, Any]
) -> None:
    async def audit(look: Look) -> list[str]:
        async with chromium.page(storefront, look) as (page, problems):
            who = Shopper(page, problems, look)

            async def each(name: str) -> None:
                # The "system" theme follows the OS scheme, so one page is seen in both themes.
                for scheme, background in [("dark", "rgb(17, 17, 17)"), ("light", "rgb(255, 255, 255)")]:
                    await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
                    assert (
                        await page.evaluate("getComputedStyle(document.body).backgroundColor") == background
                    )
                    who.seen += [f"{scheme} {look.device} {name}: {v}" for v in await axe_violations(page)]

            await through_checkout(who, each, {**ADDRESS, "country": "GB"})
            return who.seen

    found = []
    for device in ["desktop", "mobile"]:
        found += await chromium.run(audit(Look(device=device)))  # type: ignore[arg-type]
    assert found == []


async def test_cart_checkout_and_order_fit_320_px_even_with_long_words(
    chromium: Chromium, storefront: str, shirt: dict[str, Any]
) -> None:
    long = {**ADDRESS, "name": "Wolfeschlegelsteinhausenbergerdorff" * 5, "line1": "9" * 200}
    long |= {"email": "a" * 60 + "@" + "b" * 60 + ".example", "city": "Llanfairpwllgwyngyll" * 4}

    async def flow() -> list[str]:
        look = Look(device="narrow")
        async with chromium.page(storefront, look) as (page, problems):
            who = Shopper(page, problems, look)

            async def each(name: str) -> None:
                scroll, client = await page.evaluate(
                    "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
                )
                if scroll > client:
                    who.seen.append(f"{name}: {scroll} px wide in {client} px")

            await through_checkout(who, each, long)
            return who.seen

    assert await chromium.run(flow()) == []
