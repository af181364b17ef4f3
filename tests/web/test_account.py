"""The signed-in customer's account pages as a browser with JavaScript off uses them: guests
sent to sign in, every form a plain POST answered with a redirect (303), its mistakes shown on
the same form (422), never an error page; the theme switcher and "Save to wishlist" for everyone."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from shopflow.auth.interface import cookie_names
from shopflow.keys import SETTINGS
from shopflow.web import account
from shopflow.web.wishlist import wishlist_cookie_name
from tests.catalog.conftest import Catalog
from tests.web.browser import Chromium, Look, axe_violations
from tests.web.test_cart import GOOD, PASSWORD, Browser, add_to_cart, errors_of, linen, signed_in_browser

__all__ = ["linen"]  # the fixture, used by the order history's test

PAGES = [
    "/account",
    "/account/profile",
    "/account/preferences",
    "/account/addresses",
    "/account/addresses/new",
    "/account/wishlist",
    "/account/wishlists",
    "/account/orders",
    "/account/export",
    "/account/delete",
]
ADDRESS = {
    "label": "Home",
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


async def ada(client: Any, app: web.Application, email: str = "ada@shop.example") -> Browser:
    return await signed_in_browser(client, app, email)


def theme_of(html: str) -> str:
    found = re.search(r'<html lang="en" data-theme="([a-z]+)">', html)
    assert found, html[:300]
    return found.group(1)


def invalid_fields(html: str) -> list[str]:
    """The fields marked wrong, each described by its message."""
    marked = re.findall(r'id="f-([a-z0-9_]+)"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*e-\1', html)
    assert sorted(marked) == sorted(errors_of(html)), (marked, errors_of(html))
    assert all(f'href="#f-{name}"' in html for name in marked)  # the summary links to each
    return sorted(marked)


async def test_guests_are_sent_to_sign_in_and_back(client: Any) -> None:
    guest = Browser(client)
    for path in [*PAGES, "/account/orders?cursor=abc"]:
        resp = await client.get(path, headers=guest._headers(), allow_redirects=False)
        assert resp.status in (302, 303), path
        expected = "/signin?next=" + path.replace("?", "%3F").replace("=", "%3D")
        assert resp.headers["Location"] == expected
    await guest.get("/")  # a guest's form token
    for action, page in [
        ("/account/profile", "/account/profile"),
        ("/account/profile/password", "/account/profile"),
        ("/account/addresses", "/account/addresses"),
        ("/account/addresses/00000000-0000-0000-0000-000000000000/delete", "/account/addresses"),
        ("/account/delete", "/account/delete"),
    ]:
        resp = await guest.post(action, {"csrf_token": "whatever"})
        assert resp.headers["Location"] == f"/signin?next={page}"


async def test_each_page_for_a_signed_in_customer(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    for path in PAGES:
        html = await browser.get(path)
        assert "<title>" in html and 'name="robots" content="noindex"' in html, path
        resp = await client.get(path, headers=browser._headers())
        assert resp.headers["Cache-Control"] == "no-store", path
    dashboard = await browser.get("/account")
    assert "Hello, ada." in dashboard and "ada@shop.example" in dashboard
    for path in PAGES:
        if path != "/account/addresses/new":
            assert f'href="{path}"' in dashboard, path
    assert 'aria-current="page"' in dashboard


async def test_profile_name_phone_and_locale(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    page = await browser.get("/account/profile")
    for attribute in (
        'autocomplete="name"',
        'type="tel" autocomplete="tel" inputmode="tel"',
        'autocomplete="language"',
    ):
        assert attribute in page
    fields = {"name": "Ada King", "phone": "+44 (20) 7946-0000", "locale": "en-GB"}
    resp = await browser.submit(page, "/account/profile", fields)
    assert resp.headers["Location"] == "/account/profile?notice=saved"
    page = await browser.get(resp.headers["Location"])
    assert "Your changes have been saved" in page
    assert 'value="Ada King"' in page and 'value="+442079460000"' in page and 'value="en-GB"' in page
    for wrong, marked in [
        ({"name": ""}, ["name"]),
        ({"phone": "call me"}, ["phone"]),
        ({"locale": "english please"}, ["locale"]),
        ({"name": "Ada\x00", "locale": ""}, ["locale", "name"]),
        ({"name": "A" * 300}, ["name"]),
    ]:
        resp = await browser.submit(page, "/account/profile", {**fields, **wrong}, status=422)
        html = await resp.text()
        assert invalid_fields(html) == marked, wrong
        assert "Please check these details" in html
    me = await (await client.get("/api/v1/me", headers=browser.bearer)).json()
    assert (me["name"], me["phone"], me["locale"]) == ("Ada King", "+442079460000", "en-GB")


async def test_email_change_asks_for_the_password(client: Any, app: web.Application, db: Any) -> None:
    browser = await ada(client, app)
    await signed_in_browser(client, app, "taken@shop.example")
    page = await browser.get("/account/profile")
    for fields, marked in [
        ({"new_email": "not an address", "password": PASSWORD}, ["new_email"]),
        ({"new_email": "ada@new.example", "password": ""}, ["password"]),
        ({"new_email": "ada@new.example", "password": "wrong password"}, ["password"]),
        ({"new_email": "taken@shop.example", "password": PASSWORD}, ["new_email"]),
    ]:
        resp = await browser.submit(page, "/account/profile/email", fields, status=422)
        html = await resp.text()
        assert invalid_fields(html) == marked, fields
        if fields["password"] == "wrong password":
            assert "That password is not right" in html
    resp = await browser.submit(
        page, "/account/profile/email", {"new_email": "ada@new.example", "password": PASSWORD}
    )
    assert "Check your mail" in await browser.get(resp.headers["Location"])
    sent = await db.fetchval("SELECT count(*) FROM mail_outbox WHERE to_address = 'ada@new.example'")
    assert sent == 1


async def test_password_change_and_its_backoff(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    page = await browser.get("/account/profile")
    assert 'autocomplete="current-password"' in page and 'autocomplete="new-password"' in page
    resp = await browser.submit(
        page, "/account/profile/password", {"current_password": "nope", "new_password": "a new long one"}, 422
    )
    html = await resp.text()
    assert invalid_fields(html) == ["current_password"] and "That password is not right" in html
    resp = await browser.submit(
        page, "/account/profile/password", {"current_password": PASSWORD, "new_password": "short"}, 422
    )
    assert invalid_fields(await resp.text()) == ["new_password"]
    new = "a brand new passphrase"
    resp = await browser.submit(
        page, "/account/profile/password", {"current_password": PASSWORD, "new_password": new}
    )
    assert "Your password has been changed" in await browser.get(resp.headers["Location"])
    login = await client.post("/api/v1/auth/login", json={"email": "ada@shop.example", "password": new})
    assert login.status == 200
    statuses = []
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    guess = {"csrf_token": token.group(1), "current_password": "guess", "new_password": "whatever1"}
    for _ in range(12):  # wrong guesses: the sign-in backoff applies here too, as a message
        resp = await client.post(
            "/account/profile/password", data=guess, headers=browser._headers(), allow_redirects=False
        )
        statuses.append(resp.status)
        if resp.status == 429:
            assert "Too many tries" in await resp.text()
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {422}, statuses


async def test_preferences(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    page = await browser.get("/account/preferences")
    assert theme_of(page) == "system"
    fields = {"theme": "dark", "language": "de-DE", "currency": "EUR", "marketing_opt_in": "on"}
    resp = await browser.submit(page, "/account/preferences", fields)
    page = await browser.get(resp.headers["Location"])
    assert theme_of(page) == "dark" and "Your changes have been saved" in page
    prefs = await (await client.get("/api/v1/me/preferences", headers=browser.bearer)).json()
    assert (prefs["theme"], prefs["language"], prefs["currency"], prefs["marketing_opt_in"]) == (
        "dark",
        "de-DE",
        "EUR",
        True,
    )
    for wrong, marked in [
        ({"theme": "pink"}, ["theme"]),
        ({"language": "German!"}, ["language"]),
        ({"currency": "euros"}, ["currency"]),
        ({"language": "\x7f"}, ["language"]),
    ]:
        resp = await browser.submit(page, "/account/preferences", {**fields, **wrong}, status=422)
        html = await resp.text()
        assert sorted(errors_of(html)) == marked, wrong
    resp = await browser.submit(page, "/account/preferences", {**fields, "marketing_opt_in": ""})
    prefs = await (await client.get("/api/v1/me/preferences", headers=browser.bearer)).json()
    assert prefs["marketing_opt_in"] is False


async def test_the_theme_switcher_for_a_guest(client: Any, shop: Catalog) -> None:
    guest = Browser(client)
    home = await guest.get("/c/home?sort=newest")
    assert theme_of(home) == "system" and 'aria-pressed="true">System' in home
    resp = await guest.submit(home, "/theme", {"theme": "dark"})
    assert resp.headers["Location"] == "/c/home?sort=newest"
    cookie = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith("theme="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert guest.cookies["theme"] == "dark"
    page = await guest.get("/c/home")
    assert theme_of(page) == "dark" and 'aria-pressed="true">Dark' in page
    for back in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]:
        resp = await guest.submit(page, "/theme", {"theme": "light", "back": back})
        assert resp.headers["Location"] == "/", back
    resp = await guest.submit(page, "/theme", {"theme": "neon"}, status=422)
    assert "<!doctype html>" in await resp.text()
    await guest.post("/theme", {"theme": "dark", "back": "/"}, status=403)  # no token
    assert theme_of(await guest.get("/")) == "light"


async def test_the_theme_switcher_saves_a_customers_preference(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    page = await browser.get("/account")
    resp = await browser.submit(page, "/theme", {"theme": "dark"})
    assert resp.headers["Location"] == "/account"
    prefs = await (await client.get("/api/v1/me/preferences", headers=browser.bearer)).json()
    assert prefs["theme"] == "dark"
    browser.cookies.pop("theme")  # another device: the account's choice is rendered
    assert theme_of(await browser.get("/")) == "dark"


async def test_forms_without_their_token_are_refused(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    await browser.get("/account/profile")
    for action, fields in [
        ("/account/profile", {"name": "Mallory", "phone": "", "locale": "en"}),
        ("/account/preferences", {"theme": "dark", "language": "en", "currency": "USD"}),
        ("/account/addresses", ADDRESS),
        ("/account/delete", {"password": PASSWORD}),
    ]:
        await browser.post(action, fields, status=403)
        await browser.post(action, {**fields, "csrf_token": "x" * 43}, status=403)
    me = await (await client.get("/api/v1/me", headers=browser.bearer)).json()
    assert me["name"] == "ada"


def address_ids(html: str) -> list[str]:
    return re.findall(r'href="/account/addresses/([0-9a-f-]{36})"', html)


async def test_the_address_book(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    assert "Your address book is empty" in await browser.get("/account/addresses")
    form = await browser.get("/account/addresses/new")
    for token in ("shipping name", "shipping address-line1", "shipping postal-code", "shipping country"):
        assert f'autocomplete="{token}"' in form
    assert 'type="tel" autocomplete="shipping tel" inputmode="tel"' in form
    for wrong, marked in [
        ({"name": ""}, ["name"]),
        ({"country": "XX"}, ["country"]),
        ({"postal_code": "", "city": ""}, ["city", "postal_code"]),
        ({"line1": "12\x00 Square"}, ["line1"]),
        ({"label": "L" * 60}, ["label"]),
        ({"phone": "call me"}, ["phone"]),
    ]:
        resp = await browser.submit(form, "/account/addresses", {**ADDRESS, **wrong}, status=422)
        html = await resp.text()
        assert invalid_fields(html) == marked, wrong
    resp = await browser.submit(form, "/account/addresses", ADDRESS)
    book = await browser.get(resp.headers["Location"])
    assert "The address has been added" in book and "12 St James&#39;s Square" in book
    assert "Default shipping" in book and "Default billing" in book  # the first is both
    work = {**ADDRESS, "label": "Work", "line1": "1 Fleet Street", "postal_code": "EC4Y 1AA"}
    resp = await browser.submit(form, "/account/addresses", {**work, "default_billing": "on"})
    book = await browser.get(resp.headers["Location"])
    newest, first = address_ids(book)
    edit = await browser.get(f"/account/addresses/{newest}")
    assert 'value="1 Fleet Street"' in edit
    resp = await browser.submit(edit, f"/account/addresses/{newest}", {**work, "label": "", "city": ""}, 422)
    assert invalid_fields(await resp.text()) == ["city"]
    resp = await browser.submit(
        edit, f"/account/addresses/{newest}", {**work, "label": "", "line2": "Floor 3"}
    )
    book = await browser.get(resp.headers["Location"])
    assert "The address has been saved" in book and "Floor 3" in book and "<strong>Work</strong>" not in book
    resp = await browser.submit(book, f"/account/addresses/{newest}/default", {"kind": "shipping"})
    book = await browser.get(resp.headers["Location"])
    assert "now your default shipping address" in book
    entries = await (await client.get("/api/v1/me/addresses", headers=browser.bearer)).json()
    defaults = {e["id"]: (e["is_default_shipping"], e["is_default_billing"]) for e in entries["items"]}
    assert defaults == {newest: (True, True), first: (False, False)}
    resp = await browser.submit(book, f"/account/addresses/{newest}/delete", {})
    book = await browser.get(resp.headers["Location"])
    assert "The address has been deleted" in book and address_ids(book) == [first]
    bob = await ada(client, app, "bob@shop.example")  # another's address is not there for him
    await bob.get(f"/account/addresses/{first}", status=404)
    await bob.get("/account/addresses/not-an-id", status=404)
    bob_form = await bob.get("/account/addresses/new")
    await bob.submit(bob_form, "/account/addresses", ADDRESS)
    token = re.search(r'name="csrf_token" value="([^"]+)"', bob_form)
    assert token
    await bob.post(f"/account/addresses/{first}/delete", {"csrf_token": token.group(1)}, status=404)
    assert address_ids(await browser.get("/account/addresses")) == [first]


async def test_a_full_address_book_is_told(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    for n in range(50):
        resp = await client.post(
            "/api/v1/me/addresses",
            json={**ADDRESS, "label": f"A{n}", "line2": None, "region": None},
            headers=browser.bearer,
        )
        assert resp.status == 201, await resp.text()
    book = await browser.get("/account/addresses")
    assert "holds 50 addresses" in book and 'href="/account/addresses/new"' not in book
    form = await browser.get("/account/addresses/new")
    resp = await browser.submit(form, "/account/addresses", ADDRESS, status=409)
    assert "holds 50 addresses" in await resp.text()


async def test_a_guest_saves_to_a_wishlist(client: Any, app: web.Application, shop: Catalog) -> None:
    guest = Browser(client)
    assert "Nothing saved yet" in await guest.get("/wishlist")
    product = await guest.get("/p/red-ceramic-mug")
    resp = await guest.submit(product, "/wishlist/items", {})
    assert resp.headers["Location"] == "/wishlist?notice=saved"
    name = wishlist_cookie_name(app[SETTINGS])
    cookie = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(f"{name}="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and name == "__Host-shopflow_wishlist"
    await guest.submit(await guest.get("/p/garden-hose"), "/wishlist/items", {})
    mine = await guest.get("/wishlist")
    assert "Red Ceramic Mug" in mine and "12.00 USD" in mine and "In stock" in mine and "Garden Hose" in mine
    assert "<picture>" in mine and 'href="/p/red-ceramic-mug"' in mine
    assert "Red Ceramic Mug" not in await Browser(client).get("/wishlist")  # the cookie's, no one else's
    mug = shop.products["red-ceramic-mug"]["id"]
    resp = await guest.submit(mine, f"/wishlist/items/{mug}/remove", {})
    mine = await guest.get(resp.headers["Location"])
    assert "Removed from your wishlist" in mine and "Red Ceramic Mug" not in mine and "Garden Hose" in mine
    for odd in ["not-an-id", "00000000-0000-0000-0000-000000000000"]:
        resp = await guest.submit(product, "/wishlist/items", {"product_id": odd})
        assert resp.headers["Location"] == "/wishlist?notice=unavailable"
    await guest.post("/wishlist/items", {"product_id": mug}, status=403)


async def test_a_customer_saves_to_their_wishlist(client: Any, app: web.Application, shop: Catalog) -> None:
    browser = await ada(client, app)
    product = await browser.get("/p/coffee-grinder")
    resp = await browser.submit(product, "/wishlist/items", {})
    assert resp.headers["Location"] == "/account/wishlist?notice=saved"
    assert not any("wishlist" in name for name in browser.cookies)  # the account's list, no cookie
    mine = await browser.get(resp.headers["Location"])
    assert "Saved to your wishlist" in mine and "Coffee Grinder" in mine and "Out of stock" in mine
    assert "45.00 USD" in mine
    assert re.search(r"<dt>On your wishlist</dt><dd>1</dd>", await browser.get("/account"))
    await browser.get("/wishlist", status=303)
    grinder = shop.products["coffee-grinder"]["id"]
    resp = await browser.submit(mine, f"/account/wishlist/{grinder}/remove", {})
    assert "Coffee Grinder" not in await browser.get(resp.headers["Location"])
    made = await client.post("/api/v1/me/wishlists", json={"name": "Birthday"}, headers=browser.bearer)
    listed = (await made.json())["id"]
    await client.post(
        f"/api/v1/me/wishlists/{listed}/items", json={"product_id": grinder}, headers=browser.bearer
    )
    lists = await browser.get("/account/wishlists")
    assert f'href="/account/wishlists/{listed}"' in lists and "Birthday" in lists
    assert "Coffee Grinder" in await browser.get(f"/account/wishlists/{listed}")
    await (await ada(client, app, "bob@shop.example")).get(f"/account/wishlists/{listed}", status=404)


async def test_the_order_history_pages_by_keyset(
    client: Any, app: web.Application, linen: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = await ada(client, app)
    assert "You have not ordered anything yet" in await browser.get("/account/orders")
    placed = []
    for sku in ("SHIRT-S", "SHIRT-M"):
        await add_to_cart(browser, linen[sku])
        resp = await browser.submit(await browser.get("/checkout"), "/checkout", GOOD)
        placed.append(resp.headers["Location"])
    monkeypatch.setattr(account, "ORDERS_PER_PAGE", 1)
    newest = await browser.get("/account/orders")
    assert f'href="{placed[1]}"' in newest and f'href="{placed[0]}"' not in newest
    older = re.search(r'href="(/account/orders\?cursor=[^"]+)">Older orders', newest)
    assert older
    page = await browser.get(older.group(1).replace("&amp;", "&"))
    assert f'href="{placed[0]}"' in page and "Linen Shirt - SHIRT-S \N{MULTIPLICATION SIGN} 1" in page
    assert "Linen Shirt - SHIRT-M" in await browser.get(placed[1])  # the order page it links to
    await browser.get("/account/orders?cursor=not-ours", status=303)
    dashboard = await browser.get("/account")
    assert re.search(r"<dt>Orders</dt><dd>2</dd>", dashboard) and f'href="{placed[1]}"' in dashboard


async def test_the_export_is_a_download_for_the_browser_session(client: Any, app: web.Application) -> None:
    browser = await ada(client, app)
    page = await browser.get("/account/export")
    assert 'href="/api/v1/me/export" download' in page
    resp = await client.get("/api/v1/me/export", headers=browser._headers())  # the session cookie alone
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert (await resp.json())["profile"]["email"] == "ada@shop.example"


async def test_deleting_the_account(client: Any, app: web.Application, db: asyncpg.Connection) -> None:
    browser = await ada(client, app)
    page = await browser.get("/account/delete")
    assert 'type="password" autocomplete="current-password"' in page
    resp = await browser.submit(page, "/account/delete", {"password": ""}, status=422)
    assert invalid_fields(await resp.text()) == ["password"]
    resp = await browser.submit(page, "/account/delete", {"password": "not it"}, status=422)
    assert "That password is not right" in await resp.text()
    resp = await browser.submit(page, "/account/delete", {"password": "x\x00" * 100}, status=422)
    resp = await browser.submit(page, "/account/delete", {"password": PASSWORD})
    assert resp.headers["Location"] == "/?notice=account_deleted"
    session = cookie_names(app[SETTINGS])[0]
    assert session not in browser.cookies  # taken back
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = 'ada@shop.example'") == 0
    login = await client.post("/api/v1/auth/login", json={"email": "ada@shop.example", "password": PASSWORD})
    assert login.status == 401


async def test_an_account_without_a_password_needs_a_recent_sign_in(
    client: Any, app: web.Application, db: asyncpg.Connection
) -> None:
    browser = await ada(client, app)
    await db.execute("UPDATE users SET password_hash = NULL WHERE email = 'ada@shop.example'")
    page = await browser.get("/account/delete")
    assert 'type="password"' not in page and "sign in again" in page
    resp = await browser.submit(page, "/account/delete", {})  # signed in a moment ago
    assert resp.headers["Location"] == "/?notice=account_deleted"


AXE_PAGES = [
    "/account",
    "/account/addresses",
    "/account/wishlist",
    "/account/addresses/new",
    "/account/profile",
]


async def test_axe_finds_nothing_on_the_account_pages_in_either_theme_nor_a_sideways_scroll(
    client: Any, app: web.Application, chromium: Chromium, storefront: str, shop: Catalog
) -> None:
    browser = await ada(client, app)
    await client.post(
        "/api/v1/me/addresses", json=ADDRESS | {"line2": None, "region": None}, headers=browser.bearer
    )
    mug = shop.products["red-ceramic-mug"]["id"]
    await client.post("/api/v1/me/wishlist", json={"product_id": mug}, headers=browser.bearer)
    session = cookie_names(app[SETTINGS])[0]

    async def audit(look: Look) -> list[str]:
        found = []
        async with chromium.page(storefront, look) as (page, problems):
            # a Secure cookie as a TLS origin sets it; chromium sends it to loopback over plain HTTP too
            signed_in = {
                "name": session,
                "value": browser.cookies[session],
                "url": storefront.replace("http:", "https:"),
            }
            await page.context.add_cookies([signed_in])  # type: ignore[list-item]
            for path in AXE_PAGES:
                resp = await page.goto(path, wait_until="load")
                assert resp is not None and resp.status == 200 and page.url.endswith(path), path
                assert await page.locator("html").get_attribute("data-theme") == look.scheme
                wide = await page.evaluate("document.documentElement.scrollWidth > innerWidth")
                assert not wide, f"{path} scrolls sideways on {look.device}"
                found += [f"{look.scheme} {look.device}: {v}" for v in await axe_violations(page)]
            found += await problems.collect(page)
        return found

    for theme in ["light", "dark"]:
        body = {"theme": theme, "language": "en", "currency": "USD", "marketing_opt_in": False}
        resp = await client.put("/api/v1/me/preferences", json=body, headers=browser.bearer)
        assert resp.status == 200
        for device in ["desktop", "mobile", "narrow"]:
            look = Look(scheme=theme, device=device)  # type: ignore[arg-type]
            assert await chromium.run(audit(look)) == []
