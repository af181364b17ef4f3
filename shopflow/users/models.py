"""The users component's request and response models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from ..checkout.interface import Cart, Order
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
from ..platform.endpoint import Body
from ..platform.models import MoneyOut, Patch

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
    role: str
    email_verified: bool
    status: str
    created_at: datetime
    updated_at: datetime


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
    consents: list[ExportedConsent]
