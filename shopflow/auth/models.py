"""The auth component's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from ..platform.endpoint import Body, Query

EMAIL = r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$"
Role = Literal["customer", "staff", "admin"]
ProviderName = Literal["google", "facebook"]  # those this code speaks; a shop offers those it set up
# What providers send back (RFC 6749: printable ASCII), short enough for one request line.
PROVIDER_TEXT = r"^[ -~]*$"


class Register(Body):
    email: str = Field(pattern=EMAIL, max_length=254)
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=200)


class Login(Body):
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)
    cart_id: UUID | None = Field(None, description="a guest cart to fold into the account's cart")
    wishlist_id: UUID | None = Field(
        None, description="a guest wishlist to fold into the account's default one"
    )


class Refresh(Body):
    refresh_token: str = Field(max_length=256)


class Forgot(Body):
    email: str = Field(max_length=254)


class ResetPassword(Body):
    token: str = Field(max_length=256)
    password: str = Field(min_length=8, max_length=128)


class VerifyEmail(Body):
    token: str = Field(max_length=256)


class Accepted(BaseModel):
    detail: str


class User(BaseModel):
    id: UUID
    email: str
    name: str
    email_verified: bool
    role: Role
    created_at: datetime


class TokenPair(BaseModel):
    user: User
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    csrf_token: str


class SignedInWithCart(TokenPair):
    cart: dict[str, Any] | None = Field(None, description="the merged cart, when `cart_id` was sent")
    cart_error: str | None = Field(None, description="why `cart_id` could not be merged (a problem code)")
    wishlist_error: str | None = Field(
        None, description="why `wishlist_id` could not be folded in (a problem code)"
    )


class SessionInfo(BaseModel):
    user_id: UUID
    role: Role
    session_id: str


class OAuthStart(Query):
    next: str | None = Field(None, max_length=512, description="A path on this site to land on afterwards")
    cart_id: UUID | None = Field(None, description="a guest cart to fold into the account's cart")
    wishlist_id: UUID | None = Field(
        None, description="a guest wishlist to fold into the account's default one"
    )


class OAuthCallback(Query):
    state: str = Field("", max_length=200, pattern=PROVIDER_TEXT)
    code: str = Field("", max_length=2048, pattern=PROVIDER_TEXT)
    error: str | None = Field(
        None, max_length=200, pattern=PROVIDER_TEXT, description="Set by the provider when the user declined"
    )


class AuthorizeUrl(BaseModel):
    authorize_url: str
