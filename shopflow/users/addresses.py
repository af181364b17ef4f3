"""The address book: at most MAX_ADDRESSES addresses per user, exactly one default shipping
and one default billing address whenever the book is not empty.

Partial unique indexes allow one default of each kind per user; every write of a user's book
first locks that user's profile row, so two requests (making different addresses the
default, adding the 50th address, deleting the default) run one after the other and each
sees what the other did. Within a write, the old default is cleared before the new one is
set, and `fill_defaults` gives a book that lost a default (its first address, a deleted
default) its newest address instead.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from ..platform.addresses import ADDRESS_FIELDS, Address
from ..platform.db import Database, Executor
from . import queries
from .errors import AccountGone, AddressBookFull, AddressNotFound
from .models import MAX_ADDRESSES, BookAddressPatch, BookEntry, DefaultKind, NewBookAddress


def book_entry(row: asyncpg.Record) -> BookEntry:
    return BookEntry(**dict(row))


def address_of(row: asyncpg.Record) -> Address:
    """The address alone, as checkout takes it and orders keep it."""
    return Address.model_validate({name: row[name] for name in ADDRESS_FIELDS})


async def _lock_book(conn: Executor, user_id: UUID) -> None:
    try:
        await queries.lock_book(conn, user_id)
    except asyncpg.ForeignKeyViolationError:  # erased while the request ran
        raise AccountGone("the account is gone") from None


async def list_addresses(db: Database, user_id: UUID) -> list[BookEntry]:
    """The user's addresses, newest first."""
    return [book_entry(row) for row in await queries.fetch_addresses(db, user_id)]


async def add_address(db: Database, user_id: UUID, new: NewBookAddress) -> BookEntry:
    """Add an address, the default of the kinds it asks for (and of both if it is the first);
    409 when the book is full."""
    fields = new.model_dump(exclude={kind.value for kind in DefaultKind})
    defaults = [kind for kind in DefaultKind if getattr(new, kind)]
    async with db.transaction() as conn:
        await _lock_book(conn, user_id)
        if await queries.count_addresses(conn, user_id) >= MAX_ADDRESSES:
            raise AddressBookFull(f"an address book holds {MAX_ADDRESSES} addresses; delete one first")
        for kind in defaults:
            await queries.clear_default(conn, user_id, kind)
        address_id = await queries.insert_address(conn, user_id, fields, defaults)
        return await _after_write(conn, user_id, address_id)


async def _after_write(conn: Executor, user_id: UUID, address_id: UUID) -> BookEntry:
    await queries.fill_defaults(conn, user_id)
    row = await queries.fetch_address(conn, user_id, address_id)
    assert row is not None  # the book is locked
    return book_entry(row)


async def update_address(db: Database, user_id: UUID, address_id: UUID, patch: BookAddressPatch) -> BookEntry:
    """Change an address's fields, or make it a default (the former default stops being it)."""
    changes: dict[str, Any] = patch.changes()
    defaults = [kind for kind in DefaultKind if changes.pop(kind.value, None)]
    async with db.transaction() as conn:
        await _lock_book(conn, user_id)
        if await queries.fetch_address(conn, user_id, address_id) is None:
            raise AddressNotFound("no such address in your address book")
        if changes:
            await queries.update_address(conn, user_id, address_id, changes)
        for kind in defaults:
            await queries.clear_default(conn, user_id, kind)
            await queries.set_default(conn, user_id, address_id, kind)
        return await _after_write(conn, user_id, address_id)


async def delete_address(db: Database, user_id: UUID, address_id: UUID) -> None:
    """Delete an address; if it was a default, the newest other address becomes it."""
    async with db.transaction() as conn:
        await _lock_book(conn, user_id)
        if not await queries.delete_address(conn, user_id, address_id):
            raise AddressNotFound("no such address in your address book")
        await queries.fill_defaults(conn, user_id)
