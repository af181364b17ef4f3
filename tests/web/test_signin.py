"""The account's doors as a browser with JavaScript off uses them: sign in and out, register,
a forgotten password, the reset and verification links, and where a sign-in may lead."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from shopflow.app import create_app
from shopflow.auth.interface import cookie_names
from shopflow.auth.service import create_user
from shopflow.keys import AUTH, DB, SETTINGS
from shopflow.web.cart import cart_cookie_name
from shopflow.web.signin import next_path
from shopflow.web.wishlist import wishlist_cookie_name
from tests.web.browser import Chromium, Look, axe_violations
from tests.web.test_cart import Browser, add_to_cart, linen, lines

__all__ = ["linen"]  # the fixture, for the cart folded at sign-in
PASSWORD = "a long and unusual passphrase"
EMAIL = "ada@example.com"


@pytest.fixture
async def ada(app: web.Application) -> str:
    """An account with a password; its email."""
    await create_user(app[DB], app[AUTH].passwords, EMAIL, PASSWORD, "Ada")
    return EMAIL


def session_of(browser: Browser, app: web.Application) -> str | None:
    return browser.cookies.get(cookie_names(app[SETTINGS])[0])


async def sign_in(
    browser: Browser, email: str, password: str, next_: str = "/cart", status: int = 303
) -> Any:
    page = await browser.get(f"/signin?next={next_}")
    return await browser.submit(page, "/signin", {"email": email, "password": password}, status)


async def mailed_token(db: asyncpg.Connection, to: str, subject: str) -> str:
    body = await db.fetchval(
        "SELECT body FROM mail_outbox WHERE to_address = $1 AND subject = $2"
        " ORDER BY created_at DESC LIMIT 1",
        to,
        subject,
    )
    assert body, f"no mail {subject!r} to {to}"
    found = re.search(r"token=([\w-]+)", body)
    assert found, body
    return found[1]


def cookie_shapes(resp: Any) -> dict[str, dict[str, Any]]:
    """Each cookie a response sets, by name, with its attributes but not its value."""
    shapes = {}
    for header in resp.headers.getall("Set-Cookie", []):
        for name, morsel in SimpleCookie(header).items():
            shapes[name] = {k: morsel[k] for k in ("path", "httponly", "secure", "samesite", "max-age")}
    return shapes


async def test_sign_in_sets_the_api_cookies_and_sign_out_ends_the_session(
    client: Any, app: web.Application, ada: str
) -> None:
    guest = Browser(client)
    home = await guest.get("/")
    assert 'href="/signin?next=%2F"' in home and "Sign out" not in home
    page = await guest.get("/signin?next=/cart")
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    resp = await guest.submit(page, "/signin", {"email": ada.upper(), "password": PASSWORD})
    assert resp.headers["Location"] == "/cart"
    api = await client.post("/api/v1/auth/login", json={"email": ada, "password": PASSWORD})
    assert api.status == 200
    session_name, csrf_name, _ = cookie_names(app[SETTINGS])
    shapes, api_shapes = cookie_shapes(resp), cookie_shapes(api)
    assert {session_name, csrf_name} <= shapes.keys()
    assert {k: shapes[k] for k in (session_name, csrf_name)} == {
        k: api_shapes[k] for k in (session_name, csrf_name)
    }
    session = session_of(guest, app)
    assert session
    for path in ("/cart", "/"):  # a page with forms, and one rendered without them
        html = await guest.get(path)
        assert 'href="/account">Account</a>' in html and 'action="/signout"' in html
        assert ">Sign in</a>" not in html
    resp = await guest.submit(html, "/signout", {})
    assert resp.headers["Location"] == "/" and session_of(guest, app) is None
    assert ">Sign in</a>" in await guest.get("/")
    stolen = Browser(client)
    stolen.cookies[session_name] = session
    assert ">Sign in</a>" in await stolen.get("/")  # the session itself ended, not only the cookie


async def test_a_signed_in_visitor_is_sent_on_from_the_sign_in_page(client: Any, ada: str) -> None:
    browser = Browser(client)
    await sign_in(browser, ada, PASSWORD)
    resp = await client.get("/signin?next=/cart", headers=browser._headers(), allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/cart"


async def test_a_wrong_password_or_unknown_email_gets_one_message(
    client: Any, app: web.Application, ada: str
) -> None:
    browser = Browser(client)
    answers = []
    for email, password in [(ada, "not the password"), ("nobody@example.com", PASSWORD)]:
        resp = await sign_in(browser, email, password, status=422)
        html = await resp.text()
        assert session_of(browser, app) is None
        assert f'value="{email}"' in html and password not in html
        found = re.search(r'<div class="errors" role="alert">(.*?)</div>', html, re.S)
        assert found, html
        answers.append(found[1])
    assert answers[0] == answers[1] and "email address or the password is not right" in answers[0]
    page = await browser.get("/signin")
    resp = await browser.submit(page, "/signin", {"email": "", "password": ""}, 422)
    html = await resp.text()
    assert 'aria-invalid="true" aria-describedby="e-email"' in html and 'href="#f-password"' in html


async def test_the_login_backoff_is_a_message_with_the_wait(
    client: Any, app: web.Application, ada: str
) -> None:
    backoff = app[AUTH].backoff
    for _ in range(backoff.after + 7):  # failures as the API counts them: the next try waits 128 s
        await backoff.failed(ada)
    browser = Browser(client)
    resp = await sign_in(browser, ada, PASSWORD, status=429)
    html = await resp.text()
    assert "Too many attempts. Please wait 3 minutes, then try again." in html
    assert 'action="/signin"' in html and session_of(browser, app) is None


async def test_the_login_rate_limit_is_a_message_too(make_client: Any, make_settings: Any) -> None:
    app = create_app(make_settings(rate_limit_login_account="2/3600"))
    client = await make_client(app)
    browser = Browser(client)
    for _ in range(2):
        await sign_in(browser, EMAIL, "wrong password", status=422)
    html = await (await sign_in(browser, EMAIL, "wrong password", status=429)).text()
    assert re.search(r"Please wait \d+ minutes, then try again", html)


async def test_register_checks_each_field_then_signs_in(
    client: Any, app: web.Application, db: Any, ada: str
) -> None:
    browser = Browser(client)
    page = await browser.get("/register?next=/cart")
    assert 'autocomplete="new-password"' in page and 'autocomplete="name"' in page
    resp = await browser.submit(
        page, "/register", {"name": "", "email": "not-an-email", "password": "short"}, 422
    )
    html = await resp.text()
    for name in ("name", "email", "password"):
        assert f'href="#f-{name}"' in html and f'id="e-{name}"' in html
    assert 'aria-describedby="h-password e-password"' in html and 'value="not-an-email"' in html
    assert 'value="short"' not in html  # a password is never sent back
    fields = {"name": "Grace\x00", "email": "grace@example.com", "password": PASSWORD}
    html = await (await browser.submit(page, "/register", fields, 422)).text()
    assert 'id="e-name"' in html and 'id="e-email"' not in html
    fields = {"name": "Grace", "email": "grace@example.com", "password": "password"}
    html = await (await browser.submit(page, "/register", fields, 422)).text()
    assert "too common" in html and 'id="e-password"' in html
    fields = {"name": "Ada again", "email": ada, "password": PASSWORD}
    html = await (await browser.submit(page, "/register", fields, 409)).text()
    assert re.search(r'<span class="error" id="e-email">An account uses this email address already', html)
    assert session_of(browser, app) is None
    fields = {"name": "Grace", "email": "grace@example.com", "password": PASSWORD}
    resp = await browser.submit(page, "/register", fields)
    assert resp.headers["Location"] == "/cart" and session_of(browser, app)
    assert 'action="/signout"' in await browser.get("/cart")
    assert await mailed_token(db, "grace@example.com", "Confirm your email address")


async def test_forgot_and_reset_password(client: Any, app: web.Application, db: Any, ada: str) -> None:
    browser = Browser(client)
    await sign_in(browser, ada, PASSWORD)
    page = await browser.get("/forgot-password")
    answers = set()
    for email in (ada, "nobody@example.com"):
        resp = await browser.submit(page, "/forgot-password", {"email": email})
        answers.add(resp.headers["Location"])
    assert answers == {"/forgot-password?sent=1"}
    assert "If an account uses this address, we have sent it a link" in await browser.get(
        "/forgot-password?sent=1"
    )
    token = await mailed_token(db, ada, "Reset your password")
    form = await browser.get(f"/reset-password?token={token}")
    resp = await browser.submit(form, "/reset-password", {"password": "short"}, 422)
    assert 'id="e-password"' in await resp.text()
    resp = await browser.submit(form, "/reset-password", {"password": "a brand new passphrase"})
    assert resp.headers["Location"] == "/signin?notice=password_reset"
    assert session_of(browser, app) is None  # every session ended
    assert "Sign in with the new one" in await browser.get(resp.headers["Location"])
    await sign_in(browser, ada, PASSWORD, status=422)
    await sign_in(browser, ada, "a brand new passphrase")
    fresh = {**hidden(await browser.get("/forgot-password")), "token": token}
    for html in (
        await browser.get(f"/reset-password?token={token}", status=400),  # spent
        await (
            await browser.post("/reset-password", {**fresh, "password": "another passphrase"}, 400)
        ).text(),
        await browser.get("/reset-password?token=nonsense", status=400),
    ):
        assert "has expired or has been used" in html and 'href="/forgot-password"' in html


async def test_forgot_password_is_throttled_as_the_api(client: Any, ada: str) -> None:
    browser = Browser(client)
    page = await browser.get("/forgot-password")
    for _ in range(3):  # rate_limit_forgot_account: 3 an hour
        await browser.submit(page, "/forgot-password", {"email": ada})
    resp = await browser.submit(page, "/forgot-password", {"email": ada}, 429)
    assert re.search(r"Please wait \d+ minutes, then try again", await resp.text())
    resp = await browser.submit(page, "/forgot-password", {"email": "not an address"}, 422)
    assert 'id="e-email"' in await resp.text()


async def test_verify_email_needs_the_confirm_button(client: Any, app: web.Application, db: Any) -> None:
    browser = Browser(client)
    page = await browser.get("/register")
    await browser.submit(
        page, "/register", {"name": "Grace", "email": "grace@example.com", "password": PASSWORD}
    )
    token = await mailed_token(db, "grace@example.com", "Confirm your email address")
    verified = "SELECT email_verified FROM users WHERE email = 'grace@example.com'"
    prefetcher = Browser(client)
    for _ in range(2):  # a mail scanner fetching the link spends nothing
        await prefetcher.get(f"/verify-email?token={token}")
    assert await db.fetchval(verified) is False
    form = await browser.get(f"/verify-email?token={token}")
    assert re.search(r'<button type="submit">Confirm</button>', form)
    resp = await browser.submit(form, "/verify-email", {})
    assert resp.headers["Location"] == "/account?notice=email_verified"
    assert await db.fetchval(verified) is True
    html = await (await browser.submit(form, "/verify-email", {}, 400)).text()
    assert "has expired or has been used" in html
    assert "has expired or has been used" in await browser.get("/verify-email", status=400)


@pytest.mark.parametrize(
    "given, kept",
    [
        ("/cart", "/cart"),
        ("/search?q=mug&sort=newest", "/search?q=mug&sort=newest"),
        ("//evil.example", "/account"),
        ("https://evil.example", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("/\r\nLocation: https://evil.example", "/account"),
        ("", "/account"),
        ("/" + "a" * 600, "/account"),
    ],
)
def test_next_is_only_a_path_on_this_site(given: str, kept: str) -> None:
    assert next_path(given) == kept


async def test_a_sign_in_never_leads_off_the_site(client: Any, ada: str) -> None:
    for evil in ("//evil.example", "https://evil.example"):
        browser = Browser(client)
        page = await browser.get(f"/signin?next={evil}")
        assert 'name="next" value="/account"' in page
        resp = await browser.post(
            "/signin", {**hidden(page), "email": ada, "password": PASSWORD, "next": evil}
        )
        assert resp.headers["Location"] == "/account"


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


async def test_the_guest_cart_and_wishlist_are_folded_at_sign_in(
    client: Any, app: web.Application, ada: str, linen: dict[str, str], db: Any
) -> None:
    browser = Browser(client)
    await add_to_cart(browser, linen["SHIRT-M"], 2)
    made = await client.post("/api/v1/wishlists")
    assert made.status == 201
    wishlist = (await made.json())["id"]
    product = str(await db.fetchval("SELECT id FROM products WHERE slug = 'linen-shirt'"))
    await db.execute(
        "INSERT INTO wishlist_items (wishlist_id, product_id) VALUES ($1, $2)", wishlist, product
    )
    settings = app[SETTINGS]
    browser.cookies[wishlist_cookie_name(settings)] = wishlist
    assert cart_cookie_name(settings) in browser.cookies
    resp = await sign_in(browser, ada, PASSWORD)
    dropped = cookie_shapes(resp)
    assert dropped[cart_cookie_name(settings)]["max-age"] == "0"
    assert dropped[wishlist_cookie_name(settings)]["max-age"] == "0"
    assert lines(await browser.get("/cart")) == [("Linen Shirt - SHIRT-M", "2")]
    kept = await db.fetch(
        "SELECT w.is_default, u.email FROM wishlist_items i JOIN wishlists w ON w.id = i.wishlist_id"
        " LEFT JOIN users u ON u.id = w.user_id WHERE i.product_id = $1",
        product,
    )
    assert [tuple(r) for r in kept] == [(True, ada)]  # moved into the account's default list


async def test_forms_without_their_token_are_refused(client: Any, app: web.Application, ada: str) -> None:
    browser = Browser(client)
    await browser.get("/signin")
    await browser.post("/signin", {"email": ada, "password": PASSWORD}, 403)
    await browser.post("/register", {"email": "x@example.com", "password": PASSWORD, "name": "X"}, 403)
    await browser.post("/forgot-password", {"email": ada}, 403)
    assert session_of(browser, app) is None
    await sign_in(browser, ada, PASSWORD)
    await browser.post("/signout", {"csrf_token": "forged"}, 403)
    assert 'action="/signout"' in await browser.get("/")  # still signed in
    guest = Browser(client)
    resp = await guest.post("/signout", {})  # signing out nobody needs no token
    assert resp.headers["Location"] == "/"


async def test_provider_buttons_show_only_when_configured(
    client: Any, make_client: Any, make_settings: Any, linen: dict[str, str]
) -> None:
    for path in ("/signin", "/register"):
        assert "Continue with" not in await Browser(client).get(path)
    app = create_app(make_settings(google_client_id="shop-client", google_client_secret="shop-secret"))
    browser = Browser(await make_client(app))
    await add_to_cart(browser, linen["SHIRT-S"])
    cart_id = browser.cookies[cart_cookie_name(app[SETTINGS])]
    for path in ("/signin?next=/cart", "/register?next=/cart"):
        html = await browser.get(path)
        links = re.findall(r'<a class="button provider" href="([^"]+)">Continue with (\w+)</a>', html)
        assert links == [(f"/api/v1/auth/oauth/google/start?next=%2Fcart&amp;cart_id={cart_id}", "Google")]


async def test_keyboard_only_sign_in_lands_on_the_page_it_left(
    chromium: Chromium, storefront: str, app: web.Application, ada: str
) -> None:
    async def tab_to(page: Any, selector: str) -> None:
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    async def visit(look: Look) -> list[str]:
        async with chromium.page(storefront, look) as (page, problems):
            await page.goto("/p/red-ceramic-mug", wait_until="load")
            await tab_to(page, "header a[href^='/signin']")
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert page.url.endswith("/signin?next=%2Fp%2Fred-ceramic-mug"), page.url
            await tab_to(page, "#f-email")
            await page.keyboard.type(ada)
            await page.keyboard.press("Tab")
            assert await page.evaluate("document.activeElement.id") == "f-password"
            await page.keyboard.type(PASSWORD)
            async with page.expect_navigation():
                await page.keyboard.press("Enter")
            assert page.url == f"{storefront}/p/red-ceramic-mug", page.url
            assert await page.locator("header form.signout button").is_visible()
            return await problems.collect(page)

    for look in [Look(), Look(device="mobile", javascript=False)]:
        assert await chromium.run(visit(look)) == [], look


DOORS = ["/signin", "/register", "/forgot-password", "/reset-password?token=spent", "/verify-email?token=t"]


async def test_the_account_pages_pass_axe_in_both_themes_and_fit_320_px(
    chromium: Chromium, storefront: str, app: web.Application, ada: str
) -> None:
    async def audit(page: Any, label: str) -> list[str]:
        return [f"{label}: {v}" for v in await axe_violations(page)]

    async def visit(look: Look) -> list[str]:
        found = []
        async with chromium.page(storefront, look) as (page, _):
            for path in DOORS:
                await page.goto(path, wait_until="load")
                found += await audit(page, f"{look.theme} {path}")
                wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
                assert not wide, f"{path} scrolls sideways at {look.device}"
            await page.goto("/signin", wait_until="load")
            async with page.expect_navigation():
                await page.click("form[action='/signin'] button[type=submit]")  # empty: the errors shown
            assert await page.locator("[aria-invalid=true]").count() == 2
            found += await audit(page, f"{look.theme} /signin with errors")
            await page.fill("#f-email", ada)
            await page.fill("#f-password", PASSWORD)
            async with page.expect_navigation():
                await page.click("form[action='/signin'] button[type=submit]")
            await page.goto("/", wait_until="load")
            found += await audit(page, f"{look.theme} / signed in")
        return found

    for theme, device in [("light", "desktop"), ("dark", "narrow")]:
        look = Look(theme=theme, scheme=theme, device=device)  # type: ignore[arg-type]
        assert await chromium.run(visit(look)) == []
