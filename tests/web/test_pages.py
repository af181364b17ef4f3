"""The browse pages as a browser gets them: HTML, titles and canonical links, filters in
GET parameters, the theme in <html>, HTML errors outside /api/, and a strict CSP."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import pyvips
from aiohttp import web

import shopflow.web
from shopflow.auth.interface import cookie_names
from shopflow.keys import SETTINGS
from shopflow.media.thumbhash import rgba_to_thumbhash
from tests.catalog.conftest import Catalog
from tests.conftest import sign_in
from tests.web.conftest import HTML

STATIC = Path(shopflow.web.__file__).parent / "static"

BASE = "http://localhost:8080"  # the settings' public_url


async def page(client: Any, path: str, status: int = 200, **kwargs: Any) -> str:
    resp = await client.get(path, headers={**HTML, **kwargs.pop("headers", {})}, **kwargs)
    text = await resp.text()
    assert resp.status == status, f"{path}: {resp.status}: {text[:500]}"
    assert resp.content_type == "text/html", path
    csp = resp.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    return text


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found, html[:300]
    return found.group(1)


def canonical(html: str) -> str:
    found = re.search(r'<link rel="canonical" href="([^"]*)">', html)
    assert found, html[:300]
    return found.group(1)


def names(html: str) -> list[str]:
    return re.findall(r'<span class="name">([^<]*)</span>', html)


def no_inline_code(html: str) -> None:
    assert " style=" not in html and "<style" not in html
    scripts = re.findall(r"<script[^>]*>(?:</script>)?", html)
    file = r'<script src="/static/[a-z]+\.[0-9a-f]{10}\.js" defer></script>'
    own = [s for s in scripts if re.fullmatch(file, s)]
    assert own, "the storefront's script, from a file"  # external files only: no inline code
    assert [s for s in scripts if s not in own] in ([], ['<script type="application/ld+json">'])
    assert not re.search(r"\son[a-z]+=", html)  # no event handler attributes


async def test_home_lists_categories_and_new_products(client: Any, shop: Catalog) -> None:
    html = await page(client, "/")
    assert title(html) == "ShopFlow: shop online"
    assert canonical(html) == f"{BASE}/"
    assert '<meta name="description"' in html
    assert 'href="/c/home"' in html and 'href="/c/garden"' in html
    assert names(html)[:2] == ["Blue Mug", "Garden Hose"]  # newest first
    no_inline_code(html)


async def test_category_lists_its_descendants_products(client: Any, shop: Catalog) -> None:
    html = await page(client, "/c/home")
    assert title(html) == "Home · ShopFlow"
    assert canonical(html) == f"{BASE}/c/home"
    assert set(names(html)) == {"Red Ceramic Mug", "Coffee Grinder", "Blue Mug"}
    assert 'href="/c/kitchen"' in html  # its subcategory
    await page(client, "/c/nowhere", 404)


async def test_filters_and_sort_are_get_parameters(client: Any, shop: Catalog) -> None:
    html = await page(client, "/c/home?min_price=10&max_price=50&sort=price_desc")
    assert names(html) == ["Coffee Grinder", "Red Ceramic Mug"]
    assert '<option value="price_desc" selected>' in html
    assert 'value="10"' in html  # the filter as typed
    html = await page(client, "/c/home?in_stock=1&sort=price_asc&min_price=abc")  # an odd value is dropped
    assert names(html) == ["Blue Mug", "Red Ceramic Mug"]


async def test_search_and_keyset_more_link(client: Any, shop: Catalog, monkeypatch: Any) -> None:
    html = await page(client, "/search?q=mug")
    assert title(html) == "Search: mug · ShopFlow"
    assert set(names(html)) == {"Red Ceramic Mug", "Blue Mug"}
    assert canonical(html) == f"{BASE}/search"
    monkeypatch.setattr("shopflow.web.listing.PAGE_SIZE", 3)
    html = await page(client, "/search?sort=price_asc")
    assert names(html) == ["Blue Mug", "Red Ceramic Mug", "Garden Hose"]
    more = re.search(r'<a href="([^"]*)" rel="next">', html)
    assert more, html
    html = await page(client, more.group(1).replace("&amp;", "&"))
    assert names(html) == ["Coffee Grinder"]
    assert 'rel="next"' not in html
    html = await page(client, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E")  # escaped, never markup
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html


async def test_product_page_shows_variants_pictures_and_json_ld(client: Any, shop: Catalog) -> None:
    html = await page(client, "/p/red-ceramic-mug")
    assert title(html) == "Red Ceramic Mug · ShopFlow"
    assert canonical(html) == f"{BASE}/p/red-ceramic-mug"
    assert "12.00 USD" in html and "5 in stock" in html
    assert "A sturdy mug &lt;b&gt;for&lt;/b&gt;" in html  # the description is text
    assert '<source type="image/avif" srcset="' in html and '<source type="image/webp"' in html
    assert re.search(
        r'<img src="[^"]+" srcset="[^"]+" sizes="[^"]+" width="640" height="480" alt="A red mug', html
    )
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert ld
    data = json.loads(ld.group(1))
    assert data["@type"] == "Product" and data["name"] == "Red Ceramic Mug"
    assert data["offers"][0]["price"] == "12.00" and data["offers"][0]["priceCurrency"] == "USD"
    assert data["offers"][0]["availability"] == "https://schema.org/InStock"
    assert data["image"][0].startswith("http")
    no_inline_code(html)
    html = await page(client, "/p/coffee-grinder")
    assert "Out of stock" in html and "OutOfStock" in html


async def test_a_product_by_id_moves_to_its_slug(client: Any, shop: Catalog) -> None:
    product_id = shop.products["blue-mug"]["id"]
    resp = await client.get(f"/p/{product_id}", headers=HTML, allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/p/blue-mug"


async def test_unknown_pages_are_html_404_for_browsers(client: Any, shop: Catalog) -> None:
    html = await page(client, "/p/no-such-product", 404)
    assert title(html) == "Product not found · ShopFlow"
    assert '<meta name="robots" content="noindex">' in html
    assert title(await page(client, "/no/such/page", 404)) == "Not found · ShopFlow"
    resp = await client.get("/api/v1/products/no-such-product", headers=HTML)  # /api/ stays problem+json
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    assert (await resp.json())["code"] == "product_not_found"
    resp = await client.get("/p/no-such-product", headers={"Accept": "application/json"})
    assert resp.status == 404 and resp.content_type == "application/problem+json"


async def test_theme_comes_from_the_cookie(client: Any, shop: Catalog) -> None:
    assert '<html lang="en" data-theme="system">' in await page(client, "/")
    for theme in ("light", "dark", "system"):
        html = await page(client, "/", headers={"Cookie": f"theme={theme}"})
        assert f'<html lang="en" data-theme="{theme}">' in html
    html = await page(client, "/", headers={"Cookie": 'theme="><script>'})
    assert '<html lang="en" data-theme="system">' in html
    html = await page(client, "/no-such-page", 404, headers={"Cookie": "theme=dark"})
    assert 'data-theme="dark"' in html


async def test_static_files_have_hashed_names_and_long_caching(client: Any) -> None:
    html = await page(client, "/")
    href = re.search(r'<link rel="stylesheet" href="(/static/app\.[0-9a-f]{10}\.css)">', html)
    assert href, html[:600]
    resp = await client.get(href.group(1))
    assert resp.status == 200 and resp.content_type == "text/css"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    css = await resp.text()
    assert "light-dark(" in css and "prefers-color-scheme" in css and "color-scheme" in css
    again = await client.get(href.group(1), headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/static/app.css")).headers["Cache-Control"] == "no-cache"
    assert (await client.get("/static/nothing.css", headers=HTML)).status == 404


async def test_robots_and_sitemap(client: Any, shop: Catalog) -> None:
    resp = await client.get("/robots.txt")
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert f"Sitemap: {BASE}/sitemap.xml" in await resp.text()
    resp = await client.get("/sitemap.xml")
    assert resp.status == 200 and resp.content_type == "application/xml"
    xml = await resp.text()
    for path in ("/", "/c/home", "/c/kitchen", "/p/red-ceramic-mug", "/p/garden-hose"):
        assert f"<loc>{BASE}{path}</loc>" in xml


async def test_a_signed_in_customers_theme_comes_from_their_preferences(client: Any, app: Any) -> None:
    headers = await sign_in(client, app, "ada@shop.example")
    prefs = {"theme": "dark", "language": "en", "currency": "USD", "marketing_opt_in": False}
    resp = await client.put("/api/v1/me/preferences", json=prefs, headers=headers)
    assert resp.status == 200, await resp.text()
    login = {"email": "ada@shop.example", "password": "correct horse battery staple"}
    resp = await client.post("/api/v1/auth/login", json=login)
    session_name = cookie_names(app[SETTINGS])[0]
    session = resp.cookies[session_name].value
    client.session.cookie_jar.clear()
    cookies = f"{session_name}={session}; theme=light"  # the account's choice wins over the cookie
    assert 'data-theme="dark"' in await page(client, "/", headers={"Cookie": cookies})
    ended = f"{session_name}=no.such-session; theme=light"  # an ended session: a guest
    assert 'data-theme="light"' in await page(client, "/", headers={"Cookie": ended})


async def test_a_failure_is_an_html_500_that_names_only_the_request(make_client: Any, app: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app.router.add_get("/test/boom", boom)
    app.router.add_get("/api/test/boom", boom)
    client = await make_client(app)
    html = await page(client, "/test/boom", 500, headers={"X-Request-ID": "req-42"})
    assert "req-42" in html and "secret detail" not in html
    resp = await client.get("/api/test/boom", headers=HTML)
    assert resp.status == 500 and resp.content_type == "application/problem+json"


def test_the_stylesheet_closes_every_block() -> None:
    """Rules appended after an unclosed block would apply only inside it (a phone's media query)."""
    css = re.sub(r"/\*.*?\*/", "", (STATIC / "app.css").read_text(), flags=re.S)
    depth = 0
    for n, line in enumerate(css.splitlines(), 1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"app.css line {n} closes a block never opened"
    assert depth == 0, "app.css leaves a block open"


async def test_pictures_show_their_placeholder_until_they_come(client: Any, shop: Catalog, db: Any) -> None:
    red = rgba_to_thumbhash(40, 30, bytes([200, 40, 30, 255] * 1200))
    await db.execute("UPDATE media SET placeholder = $1", base64.b64encode(red).decode())
    for path in ("/p/red-ceramic-mug", "/c/kitchen"):
        html = await page(client, path)
        found = re.search(r'<img class="blur" src="data:image/png;base64,([^"]+)" alt="" width="640"', html)
        assert found, path
        blur = pyvips.Image.new_from_buffer(base64.b64decode(found.group(1)), "")
        assert (blur.width, blur.height, blur.bands) == (12, 9, 4)
        assert blur(6, 4) == pytest.approx([200, 40, 30, 255], abs=12)
        no_inline_code(html)
