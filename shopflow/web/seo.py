"""What search engines read: robots.txt, the sitemap, and a product's JSON-LD."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from .render import decimal_amount

# Products per sitemap file. The protocol allows 50,000 URLs (and 50 MB) in one; a file of
# this many is built in a few milliseconds on the event loop. More products than this, and
# /sitemap.xml becomes an index of files of this many each.
SITEMAP_PRODUCTS = 10_000
SCHEMA = "https://schema.org"
SITEMAPS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XML = '<?xml version="1.0" encoding="UTF-8"?>\n'


def absolute(url: str, base: str) -> str:
    return base + url if url.startswith("/") else url


def robots_txt(base: str) -> str:
    return f"User-agent: *\nDisallow: /api/\nDisallow: /search\nSitemap: {base}/sitemap.xml\n"


def product_ld(product: dict[str, Any], url: str, base: str) -> dict[str, Any]:
    """schema.org Product with one Offer per variant, for a <script type="application/ld+json">."""
    offers = [
        {
            "@type": "Offer",
            "sku": v["sku"],
            "name": v["name"],
            "price": decimal_amount(v["price"]["amount"], v["price"]["currency"]),
            "priceCurrency": v["price"]["currency"],
            "availability": f"{SCHEMA}/{'InStock' if v['stock_available'] > 0 else 'OutOfStock'}",
            "url": url,
        }
        for v in product["variants"]
    ]
    ld: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": "Product",
        "name": product["name"],
        "url": url,
        "offers": offers,
    }
    if product["description"]:
        ld["description"] = product["description"]
    if product["images"]:
        ld["image"] = [absolute(image["url"], base) for image in product["images"]]
    if product["variants"]:
        ld["sku"] = product["variants"][0]["sku"]
    if product["category"]:
        ld["category"] = product["category"]["name"]
    return ld


def urlset(urls: Iterable[tuple[str, datetime | None]]) -> str:
    """A sitemap file: each absolute URL, with when it last changed if known."""
    entries = "".join(
        f"<url><loc>{escape(url)}</loc>"
        + (f"<lastmod>{changed.date().isoformat()}</lastmod>" if changed else "")
        + "</url>\n"
        for url, changed in urls
    )
    return f'{XML}<urlset xmlns="{SITEMAPS}">\n{entries}</urlset>\n'


def sitemap_index(locations: Iterable[str]) -> str:
    """A sitemap index: where each sitemap file is."""
    entries = "".join(f"<sitemap><loc>{escape(loc)}</loc></sitemap>\n" for loc in locations)
    return f'{XML}<sitemapindex xmlns="{SITEMAPS}">\n{entries}</sitemapindex>\n'
