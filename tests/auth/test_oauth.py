"""Google and Facebook sign-in, run end to end against a local provider server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shopflow.app import create_app
from shopflow.auth.service import create_user
from shopflow.keys import AUTH, DB
from tests.checkout.conftest import add_product
from tests.providers import oauth
from tests.providers.oauth import Provider

SESSION, CSRF, STATE = "__Host-shopflow_session", "__Host-shopflow_csrf", "__Host-shopflow_oauth"


class Browser:
    """Keeps cookies like a browser and follows redirects by hand across both servers."""

    def __init__(self, shop: TestClient, provider: TestServer) -> None:
        self.shop, self.provider = shop, provider
        self.cookies: dict[str, str] = {}

    def _keep(self, resp: Any) -> None:
        jar: SimpleCookie = SimpleCookie()
        for header in resp.headers.getall("Set-Cookie", []):
            jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    async def get(self, path: str, **kwargs: Any) -> Any:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"Cookie": cookie, **kwargs.pop("headers", {})} if cookie else kwargs.pop("headers", {})
        resp = await self.shop.request(
            kwargs.pop("method", "GET"), path, headers=headers, allow_redirects=False, **kwargs
        )
        self._keep(resp)
        return resp

    async def at_provider(self, url: str) -> str:
        """Visit the provider's authorize URL; where it sends the browser back (a shop path)."""
        async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
            back = urlsplit(resp.headers["Location"])
        assert back.path.endswith("/callback")
        return f"{back.path}?{back.query}"

    async def sign_in(self, provider: str, next_path: str = "/account") -> Any:
        start = await self.get(f"/api/v1/auth/oauth/{provider}/start", params={"next": next_path})
        assert start.status == 302, await start.text()
        return await self.get(await self.at_provider(start.headers["Location"]))


@pytest.fixture
async def provider() -> AsyncIterator[tuple[Provider, TestServer]]:
    fake = Provider()
    server = TestServer(fake.app())
    await server.start_server()
    yield fake, server
    await server.close()


@pytest.fixture
async def shop(
    make_settings: Callable[..., Any], make_client: Any, provider: tuple[Provider, TestServer]
) -> tuple[web.Application, TestClient]:
    base = str(provider[1].make_url("")).rstrip("/")
    app = create_app(
        make_settings(
            google_client_id=oauth.CLIENT_ID,
            google_client_secret=oauth.CLIENT_SECRET,
            google_authorize_url=f"{base}/google/authorize",
            google_token_url=f"{base}/google/token",
            google_jwks_url=f"{base}/google/jwks",
            facebook_app_id=oauth.APP_ID,
            facebook_app_secret=oauth.APP_SECRET,
            facebook_authorize_url=f"{base}/facebook/dialog/oauth",
            facebook_token_url=f"{base}/facebook/oauth/access_token",
            facebook_me_url=f"{base}/facebook/me",
        )
    )
    return app, await make_client(app)


@pytest.fixture
def browser(shop: tuple[web.Application, TestClient], provider: tuple[Provider, TestServer]) -> Browser:
    return Browser(shop[1], provider[1])


async def test_google_sign_in_opens_an_account_and_a_session(
    browser: Browser, db: asyncpg.Connection
) -> None:
    start = await browser.get("/api/v1/auth/oauth/google/start", params={"next": "/account?tab=orders"})
    assert start.status == 302
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"] == [browser.cookies[STATE]] and query["nonce"][0]
    assert query["scope"] == ["openid email profile"]

    done = await browser.get(await browser.at_provider(start.headers["Location"]))
    assert done.status == 302, await done.text()
    assert done.headers["Location"] == "/account?tab=orders"
    assert STATE not in browser.cookies and SESSION in browser.cookies

    who = await browser.get("/api/v1/auth/session")
    assert who.status == 200 and (await who.json())["role"] == "customer"
    user = await db.fetchrow("SELECT * FROM users WHERE email = 'grace@example.com'")
    assert user["email_verified"] and user["password_hash"] is None and user["name"] == "Grace"
    identity = await db.fetchrow("SELECT * FROM oauth_identities")
    assert (identity["provider"], identity["subject"], identity["user_id"]) == (
        "google",
        "g-1001",
        user["id"],
    )


async def test_the_same_identity_signs_in_to_the_same_account_with_a_new_session(
    browser: Browser, provider: tuple[Provider, TestServer], db: asyncpg.Connection
) -> None:
    await browser.sign_in("google")
    first = browser.cookies[SESSION]
    again = await browser.sign_in("google")
    assert again.status == 302 and browser.cookies[SESSION] != first
    assert provider[0].jwks_fetches == 1  # the provider's keys are kept, not fetched per sign-in
    assert await db.fetchval("SELECT count(*) FROM users") == 1


async def test_facebook_sign_in_sends_the_appsecret_proof(browser: Browser, db: asyncpg.Connection) -> None:
    done = await browser.sign_in("facebook", "/")
    assert done.status == 302, await done.text()
    assert (await browser.get("/api/v1/auth/session")).status == 200
    row = await db.fetchrow(
        "SELECT u.email, u.email_verified FROM users u"
        " JOIN oauth_identities i ON i.user_id = u.id WHERE i.provider = 'facebook'"
    )
    assert row["email"] == "grace@example.com" and not row["email_verified"]


async def test_a_callback_in_another_browser_is_refused(
    browser: Browser, shop: tuple[web.Application, TestClient], provider: tuple[Provider, TestServer]
) -> None:
    start = await browser.get("/api/v1/auth/oauth/google/start")
    callback = await browser.at_provider(start.headers["Location"])
    victim = Browser(shop[1], provider[1])  # login CSRF: the attacker's code in someone else's browser
    resp = await victim.get(callback)
    assert resp.status == 400 and (await resp.json())["code"] == "oauth_failed"
    assert SESSION not in victim.cookies


async def test_state_is_single_use_and_must_match(browser: Browser) -> None:
    start = await browser.get("/api/v1/auth/oauth/google/start")
    state = browser.cookies[STATE]
    callback = await browser.at_provider(start.headers["Location"])
    tampered = callback.replace(f"state={state}", "state=" + "x" * len(state))
    assert (await browser.get(tampered)).status == 400
    assert (await browser.get(callback)).status == 302
    browser.cookies[STATE] = state
    replay = await browser.get(callback)
    assert replay.status == 400


async def test_a_bad_code_or_a_refusal_is_400(browser: Browser) -> None:
    await browser.get("/api/v1/auth/oauth/google/start")
    state = browser.cookies[STATE]
    resp = await browser.get("/api/v1/auth/oauth/google/callback", params={"state": state, "code": "made-up"})
    assert resp.status == 400 and (await resp.json())["code"] == "oauth_failed"
    declined = await browser.get(
        "/api/v1/auth/oauth/google/callback", params={"error": "access_denied", "state": state}
    )
    assert declined.status == 400
    missing = await browser.get("/api/v1/auth/oauth/google/callback")
    assert missing.status == 400


@pytest.mark.parametrize(
    "bend",
    [
        {"aud": "someone-else.apps.example"},
        {"iss": "https://evil.example"},
        {"exp": 1_000_000_000},
        {"nonce": "another-sign-in"},
        "other key",
    ],
    ids=["audience", "issuer", "expired", "nonce", "signature"],
)
async def test_an_id_token_that_fails_any_check_is_refused(
    browser: Browser, provider: tuple[Provider, TestServer], db: asyncpg.Connection, bend: Any
) -> None:
    if bend == "other key":
        provider[0].signing_key = oauth.new_key()
    else:
        provider[0].claims = bend
    resp = await browser.sign_in("google")
    assert resp.status == 400 and (await resp.json())["code"] == "oauth_failed"
    assert await db.fetchval("SELECT count(*) FROM users") == 0


async def test_an_email_with_an_account_is_never_merged_but_can_be_linked(
    browser: Browser, shop: tuple[web.Application, TestClient], db: asyncpg.Connection
) -> None:
    app, client = shop
    await create_user(
        app[DB], app[AUTH].passwords, "grace@example.com", "a long and unusual passphrase", "Grace"
    )
    refused = await browser.sign_in("google")
    assert refused.status == 409 and (await refused.json())["code"] == "sign_in_and_link"
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 0

    login = await client.post(
        "/api/v1/auth/login", json={"email": "grace@example.com", "password": "a long and unusual passphrase"}
    )
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    link = await browser.get(
        "/api/v1/auth/oauth/google/link", method="POST", headers=bearer, params={"next": "/profile"}
    )
    assert link.status == 200, await link.text()
    done = await browser.get(await browser.at_provider((await link.json())["authorize_url"]))
    assert done.status == 302 and done.headers["Location"] == "/profile"
    assert await db.fetchval("SELECT count(*) FROM oauth_identities") == 1

    signed = await browser.sign_in("google")
    assert signed.status == 302
    who = await browser.get("/api/v1/auth/session")
    assert str((await who.json())["user_id"]) == str(await db.fetchval("SELECT id FROM users"))


async def test_an_identity_linked_to_one_account_cannot_be_linked_to_another(
    browser: Browser, shop: tuple[web.Application, TestClient], provider: tuple[Provider, TestServer]
) -> None:
    app, client = shop
    assert (await browser.sign_in("google")).status == 302  # Grace's Google account, her own account
    other = Browser(client, provider[1])
    await create_user(
        app[DB], app[AUTH].passwords, "mallory@example.com", "a long and unusual passphrase", "M"
    )
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": "mallory@example.com", "password": "a long and unusual passphrase"},
    )
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    link = await other.get("/api/v1/auth/oauth/google/link", method="POST", headers=bearer)
    resp = await other.get(await other.at_provider((await link.json())["authorize_url"]))
    assert resp.status == 409 and (await resp.json())["code"] == "identity_linked_elsewhere"


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aX:1",
        "\t/x",
    ],
)
async def test_next_never_leaves_the_site(browser: Browser, next_path: str) -> None:
    resp = await browser.sign_in("google", next_path)
    assert resp.status == 302
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(location).netloc == ""


async def test_unknown_or_unconfigured_providers_are_404(
    make_settings: Callable[..., Any], make_client: Any, browser: Browser
) -> None:
    assert (await browser.get("/api/v1/auth/oauth/myspace/start")).status == 404
    assert (
        await browser.get("/api/v1/auth/oauth/myspace/callback", params={"state": "s", "code": "c"})
    ).status == 404
    bare = await make_client(create_app(make_settings(google_client_id="only-an-id")))
    resp = await bare.get("/api/v1/auth/oauth/google/start", allow_redirects=False)
    assert resp.status == 404 and (await resp.json())["code"] == "unknown_provider"


async def test_a_provider_without_an_email_or_a_disabled_account(
    browser: Browser,
    provider: tuple[Provider, TestServer],
    shop: tuple[web.Application, TestClient],
    db: asyncpg.Connection,
) -> None:
    provider[0].user = {"sub": "fb-7", "name": "No Mail"}
    resp = await browser.sign_in("facebook")
    assert resp.status == 400 and "email" in (await resp.json())["detail"]

    provider[0].user = {"sub": "g-2", "email": "off@example.com", "name": "Off"}
    assert (await browser.sign_in("google")).status == 302
    await db.execute("UPDATE users SET status = 'disabled' WHERE email = 'off@example.com'")
    resp = await browser.sign_in("google")
    assert resp.status == 403 and (await resp.json())["code"] == "account_disabled"


async def test_unlinking_keeps_at_least_one_way_to_sign_in(browser: Browser, db: asyncpg.Connection) -> None:
    await browser.sign_in("google")
    await browser.sign_in("facebook")  # the same email: refused, Grace has an account
    csrf = {"X-CSRF-Token": browser.cookies[CSRF]}
    assert (await browser.get("/api/v1/auth/oauth/facebook", method="DELETE", headers=csrf)).status == 404
    only = await browser.get("/api/v1/auth/oauth/google", method="DELETE", headers=csrf)
    assert only.status == 409 and (await only.json())["code"] == "last_sign_in_method"

    link = await browser.get("/api/v1/auth/oauth/facebook/link", method="POST", headers=csrf)
    assert (await browser.get(await browser.at_provider((await link.json())["authorize_url"]))).status == 302
    assert (await browser.get("/api/v1/auth/oauth/google", method="DELETE", headers=csrf)).status == 204
    assert await db.fetchval("SELECT array_agg(provider) FROM oauth_identities") == ["facebook"]


async def test_signing_in_through_a_provider_folds_the_guest_cart_in(
    browser: Browser, db: asyncpg.Connection
) -> None:
    _, variants = await add_product(db, "wool-socks", {"SOCK-1": (900, 5)})
    guest = await browser.get("/api/v1/carts", method="POST")
    cart_id = (await guest.json())["id"]
    item = {"variant_id": variants["SOCK-1"], "quantity": 2}
    assert (await browser.get(f"/api/v1/carts/{cart_id}/items", method="POST", json=item)).status == 201

    start = await browser.get("/api/v1/auth/oauth/google/start", params={"cart_id": cart_id})
    assert (await browser.get(await browser.at_provider(start.headers["Location"]))).status == 302
    mine = await browser.get("/api/v1/carts", method="POST", headers={"X-CSRF-Token": browser.cookies[CSRF]})
    cart = await mine.json()
    assert cart["id"] != cart_id and [(i["sku"], i["quantity"]) for i in cart["items"]] == [("SOCK-1", 2)]


async def test_signing_in_through_a_provider_folds_the_guest_wishlist_in(
    browser: Browser, db: asyncpg.Connection
) -> None:
    product_id, _ = await add_product(db, "wool-socks", {"SOCK-1": (900, 5)})
    await db.execute("UPDATE products SET price_min = 900, price_max = 900 WHERE id = $1", UUID(product_id))
    guest = await browser.get("/api/v1/wishlists", method="POST")
    wishlist_id = (await guest.json())["id"]
    added = await browser.get(
        f"/api/v1/wishlists/{wishlist_id}/items", method="POST", json={"product_id": product_id}
    )
    assert added.status == 201

    start = await browser.get("/api/v1/auth/oauth/google/start", params={"wishlist_id": wishlist_id})
    assert (await browser.get(await browser.at_provider(start.headers["Location"]))).status == 302
    mine = await (await browser.get("/api/v1/me/wishlist")).json()
    assert [i["product_id"] for i in mine["items"]] == [product_id]
    assert (await browser.get(f"/api/v1/wishlists/{wishlist_id}")).status == 404
