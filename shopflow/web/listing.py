"""A listing page's GET parameters (filters, sort, keyset cursor) as the catalog's query,
read leniently: a browser's odd value is dropped, not answered with an error."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, get_args
from urllib.parse import urlencode

from multidict import MultiMapping

from ..catalog.models import ProductQuery, Sort
from ..platform.models import CURSOR
from .render import ZERO_DECIMAL

PAGE_SIZE = 24
SORTS: dict[str, str] = {
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "relevance": "Best match",
}
assert set(SORTS) == set(get_args(Sort))
MAX_AMOUNT = 10**12


def minor_units(text: str, currency: str) -> int | None:
    """A price typed in the shop's currency ('12.5') as minor units (1250); None if it is not one."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    units = int(value if currency in ZERO_DECIMAL else value * 100)
    return units if units <= MAX_AMOUNT else None


@dataclass(frozen=True)
class Listing:
    """What a listing page was asked for: the catalog's query, and the filters as typed."""

    query: ProductQuery
    params: dict[str, str]  # the filters and sort as given (no cursor), for links and the form

    def more_url(self, path: str, cursor: str) -> str:
        """The next page: the same filters and sort, after `cursor`."""
        return f"{path}?{urlencode({**self.params, 'cursor': cursor})}"


def read_listing(params: MultiMapping[str], currency: str, *, category: str | None = None) -> Listing:
    q = params.get("q", "").strip()[:200]
    fields: dict[str, Any] = {"limit": PAGE_SIZE, "category": category}
    kept: dict[str, str] = {}
    if q:
        fields["q"] = kept["q"] = q
    for name in ("min_price", "max_price"):
        typed = params.get(name, "")
        amount = minor_units(typed, currency) if typed else None
        if amount is not None:
            fields[name], kept[name] = amount, typed.strip()
    if params.get("in_stock") in ("1", "on", "true"):
        fields["in_stock"], kept["in_stock"] = True, "1"
    sort = params.get("sort", "")
    if sort in SORTS and (sort != "relevance" or q):
        fields["sort"] = kept["sort"] = sort
    cursor = params.get("cursor", "")
    if cursor and len(cursor) <= 512 and re.fullmatch(CURSOR, cursor):
        fields["cursor"] = cursor
    return Listing(ProductQuery(**fields), kept)
