"""The browse pages: home, category, search, product, and what crawlers read. Each calls
the catalog's service functions (the documents the API serves), never its SQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from ..catalog import interface as catalog_interface
from ..catalog import service as catalog
from ..catalog.models import ProductQuery
from ..keys import CACHE, DB, SETTINGS, WEB_PAGES
from ..platform.errors import NotFound
from .guest import guest_page
from .listing import SORTS, Listing, read_listing
from .render import canonical_url, render
from .seo import SITEMAP_PRODUCTS, product_ld, robots_txt, sitemap_index, urlset

routes = web.RouteTableDef()
NEW_PRODUCTS = 8


async def _tree(app: web.Application) -> bytes:
    """The category tree's document (its roots, each with its `children`)."""
    return await catalog.category_tree(app[DB], app[CACHE])


def _roots(app: web.Application, tree: bytes) -> list[dict[str, Any]]:
    roots: list[dict[str, Any]] = app[WEB_PAGES].parsed(tree)["items"]
    return roots


async def _categories(app: web.Application) -> list[dict[str, Any]]:
    """The category tree's roots, each with its `children`."""
    return _roots(app, await _tree(app))


def _find(nodes: list[dict[str, Any]], slug: str) -> dict[str, Any] | None:
    for node in nodes:
        if node["slug"] == slug:
            return node
        if found := _find(node["children"], slug):
            return found
    return None


async def _page(app: web.Application, query: ProductQuery) -> bytes:
    settings = app[SETTINGS]
    return await catalog.list_products(
        app[DB], app[CACHE], query, settings.listing_cache_ttl, settings.media_cdn_url
    )


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    tree = await _tree(request.app)
    newest = await _page(request.app, ProductQuery(sort="newest", limit=NEW_PRODUCTS))

    def context() -> dict[str, Any]:
        categories = _roots(request.app, tree)
        return {"nav": categories, "categories": categories, "products": orjson.loads(newest)["items"]}

    return await guest_page(request, "home.html", (tree, newest), context)


def _listing_context(page: bytes, path: str, listing: Listing) -> dict[str, Any]:
    found = orjson.loads(page)
    cursor = found["next_cursor"]
    return {
        "products": found["items"],
        "more_url": listing.more_url(path, cursor) if cursor else None,
        "filters": listing.params,
        "sorts": SORTS,
        "q": listing.params.get("q", ""),
    }


@routes.get("/c/{slug}")
async def category(request: web.Request) -> web.StreamResponse:
    tree = await _tree(request.app)
    categories = _roots(request.app, tree)
    node = _find(categories, request.match_info["slug"])
    if node is None:
        raise NotFound("no such category")
    currency, query = request.app[SETTINGS].currency, request.query
    listing = request.app[WEB_PAGES].derived(
        ("listing", node["slug"], request.query_string),
        lambda: read_listing(query, currency, category=node["slug"]),
    )
    page = await _page(request.app, listing.query)

    def context() -> dict[str, Any]:
        return {**_listing_context(page, request.path, listing), "nav": categories, "category": node}

    return await guest_page(request, "category.html", (tree, page), context)


@routes.get("/search")
async def search(request: web.Request) -> web.Response:
    categories = await _categories(request.app)
    listing = read_listing(request.query, request.app[SETTINGS].currency)
    page = await _page(request.app, listing.query)
    return await render(
        request, "search.html", {**_listing_context(page, request.path, listing), "nav": categories}
    )


@routes.get("/p/{product}")
async def product(request: web.Request) -> web.StreamResponse:
    app, key = request.app, request.match_info["product"]
    doc = await catalog.product_json(app[DB], app[CACHE], key, app[SETTINGS].media_cdn_url)

    def context() -> dict[str, Any] | web.Response:
        found: dict[str, Any] = orjson.loads(doc)
        if key != found["slug"]:  # an id, or a slug it had before: the one address it has
            return web.Response(status=301, headers={"Location": f"/p/{found['slug']}"})
        chosen = next((v["id"] for v in found["variants"] if v["stock_available"] > 0), None)
        return {
            "product": found,
            "in_stock": chosen is not None,
            "chosen": chosen,
            "ld": product_ld(found, canonical_url(request), canonical_url(request, "")),
        }

    return await guest_page(request, "product.html", (doc,), context)


@routes.get("/robots.txt")
async def robots(request: web.Request) -> web.Response:
    return web.Response(text=robots_txt(canonical_url(request, "")), content_type="text/plain")


def _page_paths(roots: list[dict[str, Any]]) -> list[str]:
    """The home page's and every category's path."""
    paths = ["/"]

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            paths.append(f"/c/{node['slug']}")
            walk(node["children"])

    walk(roots)
    return paths


def _xml(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/xml")


@routes.get("/sitemap.xml")
async def sitemap(request: web.Request) -> web.Response:
    """One sitemap while the products fit in one file; else an index of sitemap files, the
    products' keyset-paged in id order."""
    app, base = request.app, canonical_url(request, "")
    starts = await catalog_interface.product_link_starts(app[DB], SITEMAP_PRODUCTS)
    if len(starts) > 1:
        files = ["/sitemaps/pages.xml", *(f"/sitemaps/products-{start}.xml" for start in starts)]
        return _xml(sitemap_index(base + path for path in files))
    pages = [(base + path, None) for path in _page_paths(await _categories(app))]
    links = await catalog_interface.product_links(app[DB], None, SITEMAP_PRODUCTS)
    return _xml(urlset([*pages, *((f"{base}/p/{p.slug}", p.updated_at) for p in links)]))


@routes.get("/sitemaps/pages.xml")
async def sitemap_pages(request: web.Request) -> web.Response:
    base = canonical_url(request, "")
    return _xml(urlset((base + path, None) for path in _page_paths(await _categories(request.app))))


@routes.get("/sitemaps/products-{start}.xml")
async def sitemap_products(request: web.Request) -> web.Response:
    """The products of one sitemap file, from the id that starts it."""
    try:
        start = UUID(request.match_info["start"])
    except ValueError:
        raise NotFound("no such sitemap") from None
    links = await catalog_interface.product_links(request.app[DB], start, SITEMAP_PRODUCTS)
    if not links:
        raise NotFound("no such sitemap")
    base = canonical_url(request, "")
    return _xml(urlset((f"{base}/p/{p.slug}", p.updated_at) for p in links))
