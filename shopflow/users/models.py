"""The users component's request and response models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, Field

from ..catalog.interface import ProductSummary
from ..checkout.interface import Cart, Money, Order, OrderStatus
from ..platform.addresses import (
    Address,
    City,
    Country,
    Line,
    Name,
    OptionalLine,
    Phone,
    PostalCode,
    Region,
)
from ..platform.endpoint import Body, Query
from ..platform.models import CURSOR, MoneyOut, Page, Patch

# Profile, credentials, preferences and the address book.

# BCP 47, the common part: a language, maybe a script, maybe a region (en, en-US, zh-Hant-TW, es-419).
LOCALE = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"
E164 = r"^\+[1-9][0-9]{6,14}$"
ACCOUNT_EMAIL = r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$"
DEFAULT_LOCALE = "en"
MAX_ADDRESSES = 50


class Profile(BaseModel):
    id: UUID
    email: str
    name: str
    phone: str | None = Field(description="E.164, e.g. +14155550100")
    locale: str = Field(description="BCP 47, e.g. en or de-DE")
    email_verified: bool
    created_at: datetime


class ProfilePatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"phone"})

    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, pattern=E164, description="E.164, e.g. +14155550100; null removes it")
    locale: str | None = Field(None, pattern=LOCALE, max_length=35, description="BCP 47, e.g. en or de-DE")


class EmailChange(Body):
    new_email: str = Field(pattern=ACCOUNT_EMAIL, max_length=254)
    password: str = Field(max_length=128, description="the account's current password")


class PasswordChange(Body):
    current_password: str = Field(max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class Accepted(BaseModel):
    detail: str


class Theme(StrEnum):
    LIGHT = "light"
    DARK = "dark"
    SYSTEM = "system"


class PreferencesIn(Body):
    """The whole document: PUT replaces it."""

    theme: Theme
    language: str = Field(pattern=LOCALE, max_length=35, description="BCP 47, e.g. en or de-DE")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")
    marketing_opt_in: bool


class Preferences(BaseModel):
    theme: Theme
    language: str
    currency: str
    marketing_opt_in: bool
    marketing_opt_in_at: datetime | None = Field(
        description="when marketing consent was last given or withdrawn; null if never"
    )


class NewBookAddress(Address):
    label: str | None = Field(None, min_length=1, max_length=50, description="e.g. Home, Work")
    is_default_shipping: bool = Field(False, description="the first address is both defaults anyway")
    is_default_billing: bool = False


class BookAddressPatch(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"label", "line2", "region", "phone"})

    label: str | None = Field(None, min_length=1, max_length=50)
    name: Name | None = None
    line1: Line | None = None
    line2: OptionalLine | None = None
    city: City | None = None
    region: Region | None = None
    postal_code: PostalCode | None = None
    country: Country | None = None
    phone: Phone | None = None
    is_default_shipping: Literal[True] | None = Field(
        None, description="true makes this the default shipping address, and the former one not"
    )
    is_default_billing: Literal[True] | None = Field(
        None, description="true makes this the default billing address, and the former one not"
    )


class BookAddress(BaseModel):
    id: UUID
    label: str | None
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None
    is_default_shipping: bool
    is_default_billing: bool
    created_at: datetime


class AddressBook(BaseModel):
    items: list[BookAddress] = Field(description=f"newest first; at most {MAX_ADDRESSES}")


class DefaultKind(StrEnum):
    """The two defaults of an address book, named as their columns."""

    SHIPPING = "is_default_shipping"
    BILLING = "is_default_billing"


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    id: UUID
    email: str
    name: str
    phone: str | None
    locale: str
    email_verified: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PreferencesRecord:
    theme: Theme
    language: str
    currency: str
    marketing_opt_in: bool
    marketing_opt_in_at: datetime | None


@dataclass(frozen=True, slots=True)
class BookEntry:
    """An address of the book: the address's fields, and the book's."""

    id: UUID
    label: str | None
    name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None
    is_default_shipping: bool
    is_default_billing: bool
    created_at: datetime


class EraseAccount(Body):
    password: str | None = Field(
        None, max_length=128, description="the account's password; accounts without one sign in again first"
    )


class ExportedProfile(BaseModel):
    id: UUID
    email: str
    name: str
    phone: str | None
    locale: str
    role: str
    email_verified: bool
    status: str
    created_at: datetime
    updated_at: datetime


class ExportedWishlistItem(BaseModel):
    product_id: UUID
    added_at: datetime
    notify_back_in_stock: bool
    notify_price_drop: bool
    watch_price: int | None = Field(description="minor units: the price a price-drop notice compares with")


class ExportedWishlist(BaseModel):
    id: UUID
    name: str
    is_default: bool
    shared: bool = Field(description="whether a share link works now")
    created_at: datetime
    items: list[ExportedWishlistItem]


@dataclass(frozen=True, slots=True)
class ExportedWishlistRecord:
    id: UUID
    name: str
    is_default: bool
    shared: bool
    created_at: datetime
    items: tuple[dict[str, Any], ...]  # as ExportedWishlistItem describes


class ExportedProvider(BaseModel):
    provider: str
    email: str | None = Field(description="the address the provider gave")
    linked_at: datetime


class ExportedSignInMethods(BaseModel):
    password: bool = Field(description="whether the account has a password (never the password)")
    providers: list[ExportedProvider]


class ExportedRefund(BaseModel):
    amount: MoneyOut
    reason: str
    at: datetime


class ExportedOrder(Order):
    refunds: list[ExportedRefund]


class ExportedConsent(BaseModel):
    purpose: str
    given: bool
    at: datetime | None = Field(description="when it was given or withdrawn")


class Export(BaseModel):
    """Everything the shop holds about the caller, one section per kind of data."""

    exported_at: datetime
    profile: ExportedProfile
    sign_in_methods: ExportedSignInMethods
    orders: list[ExportedOrder] = Field(description="newest first, with lines, history, shipments, refunds")
    carts: list[Cart] = Field(description="the open cart, if any")
    preferences: Preferences
    addresses: list[BookAddress] = Field(description="the address book, newest first")
    wishlists: list[ExportedWishlist]
    consents: list[ExportedConsent]


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


# Order history and the dashboard


class OrderedLine(BaseModel):
    name: str
    sku: str
    quantity: int


class OrderTotals(BaseModel):
    subtotal: MoneyOut
    shipping: MoneyOut
    tax: MoneyOut
    total: MoneyOut
    refunded: MoneyOut


class CustomerOrder(BaseModel):
    id: UUID = Field(description="GET /api/v1/orders/{id} has the whole order")
    number: str
    status: OrderStatus
    totals: OrderTotals
    placed_at: datetime
    lines: list[OrderedLine]


class CustomerOrderPage(Page):
    items: list[CustomerOrder]


class CustomerOrdersQuery(Query):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, pattern=CURSOR, description="`next_cursor` of a page")


class Dashboard(BaseModel):
    user: Profile
    recent_orders: list[CustomerOrder] = Field(description="the 5 latest, newest first")
    orders_count: int
    open_orders_count: int = Field(description="orders waiting for payment, to ship, or on the way")
    lifetime_spend: MoneyOut = Field(description="paid, less what was refunded, in the shop's currency")
    wishlist_count: int = Field(description="products on the default wishlist")
    default_address: BookAddress | None = Field(
        description="the default shipping address, if the book has one"
    )


@dataclass(frozen=True, slots=True)
class DashboardRecord:
    user: ProfileRecord
    recent_orders: tuple[orjson.Fragment, ...]  # as CustomerOrder describes
    orders_count: int
    open_orders_count: int
    lifetime_spend: Money
    wishlist_count: int
    default_address: BookEntry | None
