"""Accounts, sign-in and sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from arq.connections import ArqRedis

from ..platform.db import Database, Executor
from ..platform.mail import enqueue_mail, queue_mail
from . import queries
from .backoff import LoginBackoff
from .errors import (
    AccountDisabled,
    EmailTaken,
    IdentityLinked,
    InvalidAccountToken,
    InvalidCredentials,
    InvalidToken,
    LastWayIn,
    NotLinked,
    OAuthFailed,
    SignInAndLink,
    UnknownAccount,
    WeakPassword,
)
from .oauth import Identity, OAuth
from .passwords import PasswordHasher, is_common
from .sessions import Sessions
from .tokens import AccessTokens, Claims


@dataclass(frozen=True)
class AccountMail:
    public_url: str
    email_token_ttl: int
    reset_token_ttl: int


@dataclass(frozen=True)
class Auth:
    """The component's shared parts, made once per process."""

    passwords: PasswordHasher
    tokens: AccessTokens
    sessions: Sessions
    backoff: LoginBackoff
    mail: AccountMail
    oauth: OAuth


def user_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "email": row["email"],
        "name": row["name"],
        "email_verified": row["email_verified"],
        "role": row["role"],
        "created_at": row["created_at"],
    }


async def hash_new_password(passwords: PasswordHasher, password: str, email: str | None = None) -> str:
    """The hash of an acceptable new password: not on the common list, not the email itself."""
    if is_common(password) or (email is not None and password.lower() == email.lower()):
        raise WeakPassword(
            "choose a less common password",
            errors=[{"field": "password", "message": "is too common"}],
        )
    return await passwords.hash(password)


async def _insert_user(ex: Executor, email: str, name: str, password_hash: str, role: str) -> asyncpg.Record:
    try:
        return await queries.insert_user(ex, email, name, password_hash, role)
    except asyncpg.UniqueViolationError:
        raise EmailTaken("an account with this email exists; sign in instead") from None


async def create_user(
    ex: Executor, passwords: PasswordHasher, email: str, password: str, name: str, role: str = "customer"
) -> asyncpg.Record:
    """A new account with a password; 409 when the email has one already."""
    return await _insert_user(ex, email, name, await hash_new_password(passwords, password, email), role)


@dataclass(frozen=True)
class SignedIn:
    pair: dict[str, Any]  # the JSON answer: user, tokens, CSRF token
    cookie: str  # the browser session cookie's value


async def _signed_in(auth: Auth, user: asyncpg.Record) -> SignedIn:
    """A new session (a new id on every sign-in) and its tokens."""
    session = await auth.sessions.start(user["id"], user["role"])
    return SignedIn(_token_pair(auth, user, session.session_id, session.refresh_token), session.cookie)


def _token_pair(auth: Auth, user: asyncpg.Record, sid: str, refresh_token: str) -> dict[str, Any]:
    return {
        "user": user_json(user),
        "access_token": auth.tokens.issue(user["id"], sid, user["role"]),
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": auth.tokens.ttl,
        "csrf_token": auth.tokens.csrf_token(sid),
    }


async def register(
    db: Database, auth: Auth, queue: ArqRedis, email: str, password: str, name: str
) -> SignedIn:
    """Open a customer account, mail it a verification link, and sign it in."""
    hashed = await hash_new_password(auth.passwords, password, email)  # outside the transaction: slow
    async with db.transaction() as conn:
        user = await _insert_user(conn, email, name, hashed, "customer")
        mail_id = await _mail_link(conn, auth.mail, user, VERIFY_EMAIL)
    await enqueue_mail(queue, mail_id)
    return await _signed_in(auth, user)


VERIFY_EMAIL, RESET_PASSWORD, CHANGE_EMAIL = "verify_email", "reset_password", "change_email"
_LINKS = {
    VERIFY_EMAIL: ("Confirm your email address", "verify-email", "Confirm your address for {shop}:"),
    RESET_PASSWORD: (
        "Reset your password",
        "reset-password",
        "Someone asked to reset your password. If it was you:",
    ),
}


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def _mail_link(conn: Executor, mail: AccountMail, user: asyncpg.Record, purpose: str) -> UUID:
    """Make a single-use token for `purpose` and write the mail that carries it."""
    token = secrets.token_urlsafe(32)
    ttl = mail.email_token_ttl if purpose == VERIFY_EMAIL else mail.reset_token_ttl
    await queries.insert_account_token(conn, _token_hash(token), purpose, user["id"], ttl)
    subject, path, intro = _LINKS[purpose]
    link = f"{mail.public_url.rstrip('/')}/{path}?token={token}"
    body = (
        f"Hello {user['name']},\n\n{intro.format(shop=mail.public_url)}\n\n{link}\n\n"
        f"The link works once, for {ttl // 60} minutes.\n"
    )
    return await queue_mail(conn, user["email"], subject, body)


def _failed_sign_ins(user: asyncpg.Record, failures: int) -> tuple[str, str]:
    return "Failed sign-ins to your account", (
        f"Hello {user['name']},\n\nThere were {failures} failed attempts in a row to sign in to your "
        "account. If they were not yours, nobody got in, and each further attempt now has to wait "
        "longer; you may want to reset your password all the same.\n"
    )


async def forgot_password(db: Database, auth: Auth, queue: ArqRedis, email: str) -> None:
    """Mail a reset link if the address has an active account; say nothing either way."""
    user = await queries.fetch_user_by_email(db, email)
    if user is None or user["status"] != "active":
        return
    async with db.transaction() as conn:
        mail_id = await _mail_link(conn, auth.mail, user, RESET_PASSWORD)
    await enqueue_mail(queue, mail_id)


async def reset_password(db: Database, auth: Auth, token: str, password: str) -> None:
    """Set a new password with a reset link's token, which is spent; every session ends."""
    token_hash = _token_hash(token)
    if not await queries.usable_account_token(db, token_hash, RESET_PASSWORD):
        raise InvalidAccountToken("the reset link is not valid or has expired; ask for a new one")
    hashed = await hash_new_password(auth.passwords, password)
    async with db.transaction() as conn:
        user_id = await queries.spend_account_token(conn, token_hash, RESET_PASSWORD)
        if user_id is None:  # spent by a concurrent request in the meantime
            raise InvalidAccountToken("the reset link is not valid or has expired; ask for a new one")
        email = await queries.set_password(conn, user_id, hashed)
        await _adopt_guest_orders(conn, user_id, email)  # the link proved the address
    await auth.sessions.end_all(user_id)
    await auth.backoff.succeeded(email)


async def reset_token_usable(db: Database, token: str) -> bool:
    """Whether a reset link's token would still set a password (nothing is spent)."""
    return bool(token) and await queries.usable_account_token(db, _token_hash(token), RESET_PASSWORD)


async def verify_email(db: Database, token: str) -> None:
    """Confirm the address a verification link was sent to, or, for an email change's link,
    make the new address the account's (409 if another account took it meanwhile); the token
    is spent."""
    async with db.transaction() as conn:
        spent = await queries.spend_email_token(conn, _token_hash(token))
        if spent is None:
            raise InvalidAccountToken("the verification link is not valid or has expired")
        user_id = spent["user_id"]
        if spent["purpose"] != CHANGE_EMAIL:
            email = await queries.mark_email_verified(conn, user_id)
        else:
            email = spent["new_email"]
            try:
                await queries.set_email(conn, user_id, email)
            except asyncpg.UniqueViolationError:
                raise EmailTaken("another account uses this address now") from None
            # Links that vouch for an address the account no longer has, or another change, stop working.
            await queries.void_account_tokens(conn, user_id, (VERIFY_EMAIL, CHANGE_EMAIL))
        await _adopt_guest_orders(conn, user_id, email)


async def _adopt_guest_orders(ex: Executor, user_id: UUID, email: str) -> None:
    """Guest orders placed with an address the account has proved it owns become its own."""
    # Checkout imports auth's interface (through users), which imports this module: checkout's
    # is imported when first used, so that no import cycle forms.
    from ..checkout import interface as checkout

    await checkout.adopt_guest_orders(ex, user_id, email)


async def login(db: Database, auth: Auth, queue: ArqRedis, email: str, password: str) -> SignedIn:
    """Sign in with email and password. Unknown emails cost the same and fail the same way."""
    await auth.backoff.check(email)
    user = await queries.fetch_user_by_email(db, email)
    ok = await auth.passwords.verify(password, user["password_hash"] if user else None)
    if not ok or user is None or user["status"] != "active":
        failures = await auth.backoff.failed(email)
        if user is not None and failures == auth.backoff.after:
            await enqueue_mail(queue, await queue_mail(db, user["email"], *_failed_sign_ins(user, failures)))
        raise InvalidCredentials("wrong email or password")
    await auth.backoff.succeeded(email)
    if user["email_verified"]:  # guest orders placed with the address since it was verified
        await _adopt_guest_orders(db, user["id"], user["email"])
    return await _signed_in(auth, user)


async def provider_sign_in(db: Database, auth: Auth, identity: Identity) -> SignedIn:
    """Sign in the account a provider identity belongs to, opening one for a new identity.
    An identity is never joined to an existing account by its email: that takes a sign-in
    to the account and an explicit link."""
    async with db.transaction() as conn:
        user = await queries.fetch_identity_user(conn, identity.provider, identity.subject)
        if user is None:
            if not identity.email:
                raise OAuthFailed("the provider did not share an email address; allow it, or register")
            if await queries.fetch_user_by_email(conn, identity.email) is not None:
                raise _sign_in_and_link(identity)
            try:
                user = await queries.insert_user(
                    conn, identity.email, identity.name, None, "customer", identity.email_verified
                )
            except asyncpg.UniqueViolationError:  # opened by a concurrent request
                raise _sign_in_and_link(identity) from None
            await queries.insert_identity(
                conn, identity.provider, identity.subject, user["id"], identity.email
            )
        if user["email_verified"]:
            await _adopt_guest_orders(conn, user["id"], user["email"])
    if user["status"] != "active":
        raise AccountDisabled("this account is disabled")
    return await _signed_in(auth, user)


def _sign_in_and_link(identity: Identity) -> SignInAndLink:
    return SignInAndLink(
        f"an account with {identity.email} exists: sign in to it, then link {identity.provider.title()}"
        " from there"
    )


async def link_identity(db: Database, user_id: UUID, identity: Identity) -> None:
    """Let a signed-in user sign in through a provider from now on."""
    owner = await queries.insert_identity(db, identity.provider, identity.subject, user_id, identity.email)
    if owner != user_id:
        raise IdentityLinked(f"this {identity.provider.title()} account is linked to another account")


async def unlink_identity(db: Database, user_id: UUID, provider: str) -> None:
    """Stop signing in through `provider`, unless it is the account's only way in."""
    async with db.transaction() as conn:
        ways_in = await queries.lock_ways_in(conn, user_id)
        if provider not in ways_in:
            raise NotLinked(f"{provider.title()} is not linked to this account")
        if len(ways_in) == 1:
            raise LastWayIn("this is the account's only way to sign in: set a password first")
        await queries.delete_identity(conn, user_id, provider)


async def refresh(db: Database, auth: Auth, refresh_token: str) -> dict[str, Any]:
    """A new token pair for a refresh token, which is spent; its reuse revokes the session."""
    rotated = await auth.sessions.rotate(refresh_token)
    if rotated is None:
        raise InvalidToken("the refresh token is not valid")
    user = await queries.fetch_user(db, rotated.user_id)
    if user is None or user["status"] != "active":
        await auth.sessions.end(rotated.user_id, rotated.session_id)
        raise InvalidToken("the refresh token is not valid")
    return _token_pair(auth, user, rotated.session_id, rotated.refresh_token)


async def authenticate(auth: Auth, token: str) -> Claims:
    """The claims of an access token whose session is still alive."""
    claims = auth.tokens.check(token)
    if not await auth.sessions.alive(claims.session_id):
        raise InvalidToken("the session has ended")
    return claims


async def authenticate_cookie(auth: Auth, cookie: str) -> Claims:
    """The caller a browser session cookie stands for, if its session lives."""
    found = await auth.sessions.from_cookie(cookie)
    if found is None:
        raise InvalidToken("the session has ended")
    user_id, role, sid = found
    return Claims(user_id, sid, role)


async def logout(auth: Auth, claims: Claims) -> None:
    await auth.sessions.end(claims.user_id, claims.session_id)


async def logout_all(auth: Auth, user_id: UUID) -> None:
    await auth.sessions.end_all(user_id)


async def set_disabled(db: Executor, sessions: Sessions, email: str, disabled: bool) -> UUID:
    """Disable (every session ends at once) or enable an account."""
    user_id = await queries.set_status(db, email, "disabled" if disabled else "active")
    if user_id is None:
        raise UnknownAccount(f"no account {email}")
    if disabled:
        await sessions.end_all(user_id)
    return user_id
