"""What other components may call."""

from __future__ import annotations

from uuid import UUID

from ..platform.addresses import Address
from ..platform.db import Executor
from . import queries
from .addresses import address_of, book_entry
from .models import BookEntry, DefaultKind, Theme
from .wishlists import fold_guest_wishlist

__all__ = [
    "BookEntry",
    "Theme",
    "address_book",
    "book_address",
    "default_address",
    "fold_guest_wishlist",
    "theme",
]


async def book_address(ex: Executor, user_id: UUID, address_id: UUID) -> Address | None:
    """An address of the user's book, as checkout copies it into an order; None if the book
    has no such address (or it is another user's)."""
    row = await queries.fetch_address(ex, user_id, address_id)
    return address_of(row) if row is not None else None


async def default_address(ex: Executor, user_id: UUID) -> BookEntry | None:
    """The user's default shipping address, or None when the book is empty."""
    row = await queries.fetch_default(ex, user_id, DefaultKind.SHIPPING)
    return book_entry(row) if row is not None else None


async def theme(ex: Executor, user_id: UUID) -> Theme:
    """The theme the user chose for the storefront; the system's when never chosen."""
    row = await queries.fetch_preferences(ex, user_id)
    return Theme(row["theme"]) if row["theme"] else Theme.SYSTEM


async def address_book(ex: Executor, user_id: UUID) -> list[BookEntry]:
    """The user's saved addresses, newest first (at most MAX_ADDRESSES), for checkout to offer."""
    return [book_entry(row) for row in await queries.fetch_addresses(ex, user_id)]
