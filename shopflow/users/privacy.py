"""A customer's data: all of it exported as one JSON document, or the account erased.

The export is an ordered list of named sections, each an async producer of its JSON, written
one after the other so that a long order history streams through in batches and never sits
in memory. A component adds its data with one `Section` line; `value` wraps a function
answering the whole section, `items` one answering it a batch at a time.

Erasure happens in one database transaction: the user's orders lose the person (checkout's
`anonymise_orders`, before the user row goes, since orders.user_id is ON DELETE SET NULL),
mail to or naming them goes from the outbox, Idempotency-Keys whose kept answers are theirs
go, and the user row is deleted, taking with it every table keyed by the user (ON DELETE
CASCADE: carts, OAuth identities, account tokens, and the users component's own tables).
After the commit every session ends and the sign-in failures counted for the email are
forgotten; the email can open a new account at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ..auth.interface import (
    Account,
    Auth,
    SignInMethods,
    check_password,
    delete_account,
    end_account,
    sign_in_methods,
    signed_in_at,
)
from ..auth.interface import (
    account as account_of,
)
from ..checkout.interface import (
    Checkout,
    ExportedOrderRecord,
    anonymise_orders,
    exported_orders,
    open_cart_of,
)
from ..platform import redact
from ..platform.db import Database
from ..platform.idempotency import forget_keys
from ..platform.jsonx import dumps
from ..platform.mail import forget_mail
from . import addresses, queries, service, wishlists
from .errors import AccountGone, PasswordRequired, ReauthenticationRequired
from .models import PreferencesRecord

REAUTHENTICATE_WITHIN = timedelta(minutes=10)  # for accounts without a password


@dataclass(frozen=True)
class Subject:
    """Whose data an export gathers, and the parts of the shop it reads through."""

    user_id: UUID
    db: Database
    checkout: Checkout
    currency: str  # the shop's: the preferences' default


Produce = Callable[[Subject], AsyncIterator[bytes]]


@dataclass(frozen=True)
class Section:
    name: str
    produce: Produce


def value(fetch: Callable[[Subject], Awaitable[Any]]) -> Produce:
    """A section answered whole by `fetch`."""

    async def produce(subject: Subject) -> AsyncIterator[bytes]:
        yield dumps(await fetch(subject))

    return produce


def items(batches: Callable[[Subject], AsyncIterator[Sequence[Any]]]) -> Produce:
    """A list section answered a batch at a time by `batches`."""

    async def produce(subject: Subject) -> AsyncIterator[bytes]:
        yield b"["
        first = True
        async for batch in batches(subject):
            if batch:
                yield (b"" if first else b",") + b",".join(dumps(item) for item in batch)
                first = False
        yield b"]"

    return produce


@dataclass(frozen=True)
class Consent:
    purpose: str
    given: bool
    at: datetime | None


async def _preferences(subject: Subject) -> PreferencesRecord:
    return await service.preferences(subject.db, subject.user_id, subject.currency)


async def _marketing(subject: Subject) -> list[Consent]:
    prefs = await _preferences(subject)
    return [Consent("marketing", prefs.marketing_opt_in, prefs.marketing_opt_in_at)]


# Where consents are kept: each answers the subject's.
CONSENTS: tuple[Callable[[Subject], Awaitable[Sequence[Consent]]], ...] = (_marketing,)


async def _profile(subject: Subject) -> dict[str, Any]:
    account = await account_of(subject.db, subject.user_id)
    if account is None:  # erased while its session was ending
        raise AccountGone("the account has been erased")
    profile = service.profile_of(account, await queries.fetch_profile(subject.db, subject.user_id))
    return {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "phone": profile.phone,
        "locale": profile.locale,
        "role": account.role,
        "email_verified": account.email_verified,
        "status": account.status,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


async def _sign_in_methods(subject: Subject) -> SignInMethods:
    return await sign_in_methods(subject.db, subject.user_id)


def _orders(subject: Subject) -> AsyncIterator[tuple[ExportedOrderRecord, ...]]:
    return exported_orders(subject.db, subject.user_id)


async def _carts(subject: Subject) -> list[Any]:
    cart = await open_cart_of(subject.checkout, subject.user_id)
    return [cart] if cart is not None else []


async def _consents(subject: Subject) -> list[Consent]:
    return [consent for source in CONSENTS for consent in await source(subject)]


# The document's sections, in order (models.Export describes them).
SECTIONS: tuple[Section, ...] = (
    Section("profile", value(_profile)),
    Section("sign_in_methods", value(_sign_in_methods)),
    Section("orders", items(_orders)),
    Section("carts", value(_carts)),
    Section("preferences", value(_preferences)),
    Section("addresses", value(lambda s: addresses.list_addresses(s.db, s.user_id))),
    Section("wishlists", value(lambda s: wishlists.exported_lists(s.db, s.user_id))),
    Section("consents", value(_consents)),
)


async def export_document(subject: Subject) -> AsyncGenerator[bytes]:
    """The subject's export, one JSON object, in pieces: `exported_at`, then each section."""
    yield b'{"exported_at":' + dumps(datetime.now(UTC))
    for section in SECTIONS:
        yield b"," + dumps(section.name) + b":"
        async for piece in section.produce(subject):
            yield piece
    yield b"}"


async def _confirm_owner(
    db: Database, auth: Auth, account: Account, session_id: str, password: str | None
) -> None:
    """The account's owner is asking: its password, or for an account without one, a sign-in
    (not a refresh) in the last ten minutes."""
    if account.has_password:
        if password is None:
            raise PasswordRequired(
                "give the account's password to erase it",
                errors=[{"field": "password", "message": "required for an account with a password"}],
            )
        await check_password(db, auth, account.id, password)  # 403 when wrong
        return
    at = await signed_in_at(auth, session_id)
    if at is None or datetime.now(UTC) - at > REAUTHENTICATE_WITHIN:
        raise ReauthenticationRequired("sign in again (within 10 minutes) to erase the account")


async def erase_account(
    db: Database, auth: Auth, user_id: UUID, session_id: str, password: str | None
) -> None:
    """Erase the account of the user signed in to `session_id`, once they have shown it is
    theirs (see the module's docstring)."""
    account = await account_of(db, user_id)
    if account is None:
        raise AccountGone("the account has been erased")
    await _confirm_owner(db, auth, account, session_id, password)
    async with db.transaction() as conn:
        account = await account_of(conn, user_id, lock=True)
        if account is None:  # erased by a concurrent request
            raise AccountGone("the account has been erased")
        erased = await anonymise_orders(conn, account.id, (account.email, account.name))
        emails = {account.email, *erased.emails}
        mentions = redact.pattern([*emails, *erased.phones])
        names = redact.pattern([*emails, *erased.phones, account.name, *erased.names])
        await forget_mail(conn, emails, mentions, names)
        await forget_keys(conn, str(account.id), erased.order_ids, emails)
        await delete_account(conn, account.id)
    await end_account(auth, account.id, account.email)
