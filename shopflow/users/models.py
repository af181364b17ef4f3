"""The users component's request and response models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from ..catalog.interface import ProductSummary
from ..platform.endpoint import Body, Query
from ..platform.models import CURSOR, Page, Patch

# Wishlists

MAX_WISHLIST_ITEMS = 500  # per list
MAX_WISHLISTS = 50  # per customer, the default one included
DEFAULT_WISHLIST_NAME = "Wishlist"
# A share link's token: secrets.token_urlsafe(32); anything else names no list.
ShareToken = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]


def ListName(default: Any = ...) -> Any:
    return Field(default, min_length=1, max_length=100)


class WishlistAdd(Body):
    """Add a product (again is fine); a notice flag given sets it, one absent leaves it."""

    product_id: UUID
    notify_back_in_stock: bool | None = Field(None, description="mail me when it can be bought again")
    notify_price_drop: bool | None = Field(None, description="mail me when its lowest price drops")


class GuestWishlistAdd(Body):
    product_id: UUID


class WishlistItemChange(Patch):
    notify_back_in_stock: bool | None = None
    notify_price_drop: bool | None = None


class WishlistCreate(Body):
    name: str = ListName()


class WishlistRename(Patch):
    name: str | None = ListName(None)


class ItemsQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512, pattern=CURSOR, description="`next_cursor` of a page")


class ListedItem(BaseModel):
    """A product on a list, as anyone who may see the list sees it: its current summary."""

    product_id: UUID
    added_at: datetime
    product: ProductSummary


class WishlistItem(ListedItem):
    notify_back_in_stock: bool
    notify_price_drop: bool


class WishlistInfo(BaseModel):
    id: UUID
    name: str
    is_default: bool
    shared: bool = Field(description="whether a share link is live")
    created_at: datetime
    updated_at: datetime


class Wishlist(WishlistInfo, Page):
    """A list with one page of its items, newest first; products no longer on sale are left
    out, so a page may hold fewer than `limit`."""

    items: list[WishlistItem]


class WishlistPage(Page):
    items: list[WishlistInfo]


class SharedWishlist(Page):
    name: str
    items: list[ListedItem]


class GuestWishlist(Page):
    id: UUID
    expires_at: datetime
    items: list[ListedItem]


class ShareLink(BaseModel):
    token: str = Field(description="shown once: only its hash is kept")
    url: str


# Records


@dataclass(frozen=True)
class WishlistRecord:
    id: UUID
    name: str
    is_default: bool
    shared: bool
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None  # guests' lists only


@dataclass(frozen=True)
class ItemRecord:
    product_id: UUID
    added_at: datetime
    notify_back_in_stock: bool
    notify_price_drop: bool
    product: bytes  # the catalog's summary document


@dataclass(frozen=True)
class ItemsPage:
    wishlist: WishlistRecord
    items: tuple[ItemRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Added:
    item: ItemRecord
    created: bool  # false: it was on the list already
