"""The browse pages: home, category, search, product, and what crawlers read. Each calls
the catalog's service functions (the documents the API serves), never its SQL."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import orjson
from aiohttp import web

from ..catalog import service as catalog
from ..catalog.models import ProductQuery
from ..keys import CACHE, DB, SETTINGS
from ..platform.errors import NotFound
from .forms import page
from .listing import SORTS, Listing, read_listing
from .render import canonical_url, render
from .seo import SITEMAP_PRODUCTS, product_ld, robots_txt

routes = web.RouteTableDef()
NEW_PRODUCTS = 8


async def _categories(app: web.Application) -> list[dict[str, Any]]:
    """The category tree's roots, each with its `children`."""
    tree: list[dict[str, Any]] = orjson.loads(await catalog.category_tree(app[DB], app[CACHE]))["items"]
    return tree


def _find(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    for node in nodes:
        if node["slug"] == slug:
            return node
        if found := _find(node["children"], slug):
            return found
    return None


async def _products(app: web.Application, query: ProductQuery) -> dict[str, Any]:
    settings = app[SETTINGS]
    page = await catalog.list_products(
        app[DB], app[CACHE], query, settings.listing_cache_ttl, settings.media_cdn_url
    )
    found: dict[str, Any] = orjson.loads(page)
    return found


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    categories = await _categories(request.app)
    newest = await _products(request.app, ProductQuery(sort="newest", limit=NEW_PRODUCTS))
    return await render(
        request, "home.html", {"nav": categories, "categories": categories, "products": newest["items"]}
    )


async def _listing_page(
    request: web.Request, listing: Listing, template: str, context: dict[str, Any]
) -> web.Response:
    page = await _products(request.app, listing.query)
    cursor = page["next_cursor"]
    more = listing.more_url(request.path, cursor) if cursor else None
    return await render(
        request,
        template,
        {
            "products": page["items"],
            "more_url": more,
            "filters": listing.params,
            "sorts": SORTS,
            "q": listing.params.get("q", ""),
            **context,
        },
    )


@routes.get("/c/{slug}")
async def category(request: web.Request) -> web.Response:
    categories = await _categories(request.app)
    node = _find(categories, request.match_info["slug"])
    if node is None:
        raise NotFound("no such category")
    listing = read_listing(request.query, request.app[SETTINGS].currency, category=node["slug"])
    return await _listing_page(request, listing, "category.html", {"nav": categories, "category": node})


@routes.get("/search")
async def search(request: web.Request) -> web.Response:
    categories = await _categories(request.app)
    listing = read_listing(request.query, request.app[SETTINGS].currency)
    return await _listing_page(request, listing, "search.html", {"nav": categories})


@routes.get("/p/{product}")
async def product(request: web.Request) -> web.Response:
    app, key = request.app, request.match_info["product"]
    doc = await catalog.product_json(app[DB], app[CACHE], key, app[SETTINGS].media_cdn_url)
    found: dict[str, Any] = orjson.loads(doc)
    if key != found["slug"]:  # an id, or a slug it had before: the one address it has
        return web.Response(status=301, headers={"Location": f"/p/{found['slug']}"})
    url = canonical_url(request)
    base = canonical_url(request, "")
    chosen = next((v["id"] for v in found["variants"] if v["stock_available"] > 0), None)
    context = {
        "product": found,
        "in_stock": chosen is not None,
        "chosen": chosen,
        "ld": product_ld(found, url, base),
    }
    return await page(request, "product.html", context)


@routes.get("/robots.txt")
async def robots(request: web.Request) -> web.Response:
    return web.Response(text=robots_txt(canonical_url(request, "")), content_type="text/plain")


@routes.get("/sitemap.xml")
async def sitemap(request: web.Request) -> web.Response:
    base = canonical_url(request, "")
    paths = ["/"]

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            paths.append(f"/c/{node['slug']}")
            walk(node["children"])

    walk(await _categories(request.app))
    query = ProductQuery(sort="newest", limit=100)
    while len(paths) < SITEMAP_PRODUCTS:
        page = await _products(request.app, query)
        paths += [f"/p/{item['slug']}" for item in page["items"]]
        if not page["next_cursor"]:
            break
        query = ProductQuery(sort="newest", limit=100, cursor=page["next_cursor"])
    urls = "".join(f"<url><loc>{escape(base + path)}</loc></url>" for path in paths)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    )
    return web.Response(text=body, content_type="application/xml")
