"""The users component's request and response models."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from ..checkout.interface import Cart, Order
from ..platform.endpoint import Body
from ..platform.models import MoneyOut


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
