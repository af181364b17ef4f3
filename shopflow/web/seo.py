"""What search engines read: robots.txt, the sitemap, and a product's JSON-LD."""

from __future__ import annotations

from typing import Any

from .render import decimal_amount

SITEMAP_PRODUCTS = 5000  # products the one sitemap lists; more needs a sitemap index
SCHEMA = "https://schema.org"


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
