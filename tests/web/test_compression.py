"""Pages and static files gzipped for the browsers that accept it (and saying that they vary
on Accept-Encoding), and guests' pages kept rendered without ever showing a stale catalog
or another guest's form token."""

from __future__ import annotations

import gzip
import re
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from shopflow.keys import SETTINGS, WEB_PAGES
from shopflow.web.assets import STATIC_DIR, accepts_gzip
from shopflow.web.csrf import guest_cookie_name
from shopflow.web.gzipped import join, pieces
from tests.catalog.conftest import Catalog
from tests.web.conftest import HTML
from tests.web.test_cart import Browser

GZIP = {**HTML, "Accept-Encoding": "gzip, deflate, br"}
IDENTITY = {**HTML, "Accept-Encoding": "identity"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def raw(client: Any, path: str, headers: dict[str, str]) -> tuple[int, Any, bytes]:
    """Status, headers and the body's bytes as sent (not decompressed)."""
    async with (
        aiohttp.ClientSession(auto_decompress=False) as http,
        http.get(client.make_url(path), headers=headers) as resp,
    ):
        return resp.status, resp.headers, await resp.read()


def varies_on_encoding(headers: Any) -> bool:
    return "accept-encoding" in [v.strip().lower() for v in headers.get("Vary", "").split(",")]


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate, br", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("identity", False),
        ("br", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str, takes: bool) -> None:
    assert accepts_gzip(header) is takes


def test_gzip_pieces_join_around_any_text() -> None:
    placeholder = b"csrf" + b"-" * 39
    body = b"<p>" + b"shop " * 2000 + placeholder + b"<form>" * 300 + placeholder + b"</html>"
    for text in (b"A" * 43, b"", b"x" * 70_000):  # a stored block holds at most 65,535 bytes
        plain = body.replace(placeholder, text)
        assert gzip.decompress(join(pieces(body, placeholder), text, plain)) == plain
    packed = join(pieces(body, placeholder), b"A" * 43, body.replace(placeholder, b"A" * 43))
    assert len(packed) < len(body) / 10


async def test_static_files_are_gzipped_once_with_their_own_etag(client: Any) -> None:
    html = await (await client.get("/", headers=HTML)).text()
    href = re.search(r'href="(/static/app\.[0-9a-f]{10}\.css)"', html)
    assert href
    css = (STATIC_DIR / "app.css").read_bytes()

    status, headers, body = await raw(client, href.group(1), GZIP)
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert varies_on_encoding(headers)
    assert gzip.decompress(body) == css and len(body) < len(css) / 2
    packed_etag = headers["ETag"]

    status, headers, body = await raw(client, href.group(1), IDENTITY)
    assert status == 200 and "Content-Encoding" not in headers and body == css
    assert varies_on_encoding(headers)
    assert headers["ETag"] != packed_etag  # two representations, two entity tags

    status, headers, _ = await raw(client, href.group(1), {**GZIP, "If-None-Match": packed_etag})
    assert status == 304 and headers["ETag"] == packed_etag
    # the gzipped one's tag does not match the plain representation
    status, _, _ = await raw(client, href.group(1), {**IDENTITY, "If-None-Match": packed_etag})
    assert status == 200


async def test_pages_are_gzipped_when_the_browser_accepts_it(client: Any, shop: Catalog) -> None:
    for path in ("/", "/c/home", "/p/red-ceramic-mug", "/search?q=mug", "/no-such-page"):
        status, headers, body = await raw(client, path, GZIP)
        assert status == (404 if path == "/no-such-page" else 200), path
        assert headers["Content-Encoding"] == "gzip", path
        assert varies_on_encoding(headers) and "Cookie" in headers["Vary"], path
        page = gzip.decompress(body).decode()
        assert page.startswith("<!doctype html>") and "</html>" in page, path
        assert int(headers["Content-Length"]) == len(body)

        status, headers, body = await raw(client, path, IDENTITY)
        assert "Content-Encoding" not in headers and body.startswith(b"<!doctype html>"), path
        assert varies_on_encoding(headers), path


async def test_each_guest_gets_their_own_token_on_a_kept_page(client: Any, shop: Catalog) -> None:
    seen = set()
    for headers in (GZIP, IDENTITY, GZIP, IDENTITY):
        _, sent, body = await raw(client, "/p/red-ceramic-mug", headers)
        page = (gzip.decompress(body) if sent.get("Content-Encoding") == "gzip" else body).decode()
        token = TOKEN.search(page)
        assert token, page[:500]
        cookie = SimpleCookie(sent["Set-Cookie"])
        assert [m.value for m in cookie.values()] == [token.group(1)]  # the forms' token is this guest's
        assert set(TOKEN.findall(page)) == {token.group(1)}  # in every form (buy, save, theme)
        seen.add(token.group(1))
    assert len(seen) == 4
    # a returning guest keeps their token, and gets no new cookie
    name = next(iter(cookie))
    _, sent, body = await raw(client, "/p/red-ceramic-mug", {**GZIP, "Cookie": f"{name}={token.group(1)}"})
    assert set(TOKEN.findall(gzip.decompress(body).decode())) == {token.group(1)}
    assert "Set-Cookie" not in sent


async def test_a_kept_page_follows_the_catalog(client: Any, staff: dict[str, str], shop: Catalog) -> None:
    mug = shop.products["red-ceramic-mug"]
    for headers in (GZIP, IDENTITY):  # both kept forms, and the listing too
        for path in ("/p/red-ceramic-mug", "/c/kitchen", "/"):
            _, sent, body = await raw(client, path, headers)
            page = gzip.decompress(body) if sent.get("Content-Encoding") == "gzip" else body
            assert b"Red Ceramic Mug" in page, path
    resp = await client.patch(f"/api/v1/products/{mug['id']}", json={"name": "Crimson Mug"}, headers=staff)
    assert resp.status == 200, await resp.text()
    for headers in (GZIP, IDENTITY):
        for path in ("/p/red-ceramic-mug", "/c/kitchen", "/"):
            _, sent, body = await raw(client, path, headers)
            page = gzip.decompress(body) if sent.get("Content-Encoding") == "gzip" else body
            assert b"Crimson Mug" in page and b"Red Ceramic Mug" not in page, path


async def test_a_theme_cookie_gets_its_own_kept_page(client: Any, shop: Catalog) -> None:
    for theme in ("dark", "light", "system", "dark"):
        _, _, body = await raw(client, "/c/home", {**IDENTITY, "Cookie": f"theme={theme}"})
        assert f'data-theme="{theme}"'.encode() in body


async def page_of(client: Any, path: str, headers: dict[str, str]) -> tuple[Any, str]:
    """The answer's headers and its page, decompressed when it was sent gzipped."""
    status, sent, body = await raw(client, path, headers)
    assert status == 200, (path, status)
    return sent, (gzip.decompress(body) if sent.get("Content-Encoding") == "gzip" else body).decode()


def count_of(page: str) -> str:
    """The header's cart count, as read out: "(2 items)", or "" for none."""
    found = re.search(r'id="cart-count">(.*?)</span></a>', page)
    assert found, page[:800]
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


GUEST_PAGES = ("/", "/c/home", "/p/red-ceramic-mug")  # the pages kept for guests with empty carts


async def test_a_guest_with_items_in_the_cart_sees_their_count_not_a_kept_page(
    client: Any, app: web.Application, shop: Catalog
) -> None:
    for headers in (GZIP, IDENTITY):  # an empty cart's pages, kept first in both forms
        for path in GUEST_PAGES:
            assert count_of((await page_of(client, path, headers))[1]) == "", path
    guest = Browser(client)
    mug = shop.products["red-ceramic-mug"]["variants"][0]["id"]
    product = await guest.get("/p/red-ceramic-mug")
    resp = await guest.submit(product, "/cart/items", {"variant_id": mug, "quantity": "2"})
    assert count_of(await guest.get(resp.headers["Location"])) == "(2 items)"
    token = guest.cookies[guest_cookie_name(app[SETTINGS])]
    cookie = "; ".join(f"{k}={v}" for k, v in guest.cookies.items())
    for headers in (GZIP, IDENTITY):
        for path in GUEST_PAGES:
            _, page = await page_of(client, path, {**headers, "Cookie": cookie})
            assert count_of(page) == "(2 items)", (path, headers)
            assert set(TOKEN.findall(page)) == {token}, path
    for path in GUEST_PAGES:  # and what is kept for the empty carts has no count
        assert count_of((await page_of(client, path, GZIP))[1]) == "", path


async def test_the_theme_switch_and_sign_in_link_work_from_a_kept_page(
    client: Any, app: web.Application, shop: Catalog
) -> None:
    path, back = "/c/home?sort=newest", "/signin?next=%2Fc%2Fhome%3Fsort%3Dnewest"
    resp = await client.head(path, headers=IDENTITY)  # a HEAD keeps the page a GET is shown
    assert resp.status == 200
    await page_of(client, path, GZIP)  # kept, in both forms
    for headers in (GZIP, IDENTITY):
        kept = app[WEB_PAGES].size
        sent, page = await page_of(client, path, headers)  # a new guest, shown the kept page
        assert app[WEB_PAGES].size == kept  # nothing rendered for them
        guest = Browser(client)
        guest.cookies.update(
            {k: m.value for h in sent.getall("Set-Cookie") for k, m in SimpleCookie(h).items()}
        )
        assert set(TOKEN.findall(page)) == {guest.cookies[guest_cookie_name(app[SETTINGS])]}
        assert f'class="account-link" href="{back}">Sign in</a>' in page
        signin = await guest.get(back)
        assert '<input type="hidden" name="next" value="/c/home?sort=newest">' in signin
        resp = await guest.submit(page, "/theme", {"theme": "dark"})  # the kept page's form, their token
        assert resp.headers["Location"] == path and guest.cookies["theme"] == "dark"
        _, page = await page_of(client, path, {**headers, "Cookie": "theme=dark"})
        assert 'data-theme="dark"' in page and 'aria-pressed="true">Dark' in page
