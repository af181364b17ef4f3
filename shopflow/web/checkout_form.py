"""The checkout form as posted: its text fields read, checked by checkout's own request
model, and what is wrong said per field in words a shopper reads."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from ..checkout.interface import CheckoutRequest
from ..platform.countries import COUNTRIES
from .country_names import country_name

ADDRESS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
OPTIONAL = frozenset({"line2", "region", "phone"})
BOOK = ("shipping_address_id", "billing_address_id")  # addresses of a signed-in customer's book
NEW = "new"  # shipping_address_id: the address typed on the form
FIELDS = ("email", *ADDRESS, "payment_provider", *BOOK)
# The country list as a shopper reads it: (code, name) in the order of the names, accents aside.
COUNTRY_CHOICES = tuple(
    sorted(
        ((code, country_name(code)) for code in COUNTRIES),
        key=lambda choice: unicodedata.normalize("NFKD", choice[1]).encode("ascii", "ignore"),
    )
)
MESSAGES = {
    "email": "Enter an email address, like name@example.com.",
    "name": "Enter the name of the person the parcel is for.",
    "line1": "Enter the street address.",
    "line2": "Shorten this line.",
    "city": "Enter the town or city.",
    "region": "Shorten the state, province or region.",
    "postal_code": "Enter the postal code.",
    "country": "Choose a country from the list.",
    "phone": "Enter a phone number: digits, spaces and + ( ) - . / only.",
    "payment_provider": "Choose how to pay.",
    "shipping_address_id": "Choose one of your addresses, or enter a new one.",
    "billing_address_id": "Choose one of your addresses, or the shipping address.",
}
# How a message names a field, when what is wrong is its length or a character in it.
NOUNS = {
    "email": "the email address",
    "name": "the name",
    "line1": "the address",
    "line2": "the apartment, suite, etc.",
    "city": "the town or city",
    "region": "the state, province or region",
    "postal_code": "the postal code",
    "phone": "the phone number",
}


@dataclass(frozen=True)
class CheckoutForm:
    """What the shopper typed (to show again) and what is wrong with it, by field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def read_form(posted: Mapping[str, str], default_country: str) -> CheckoutForm:
    """The form's fields, trimmed; a field holding a NUL or other control character is wrong
    as it stands (the database would refuse it)."""
    values = {name: posted.get(name, "").strip() for name in FIELDS}
    values["country"] = values["country"].upper() or default_country
    values["payment_provider"] = values["payment_provider"] or "manual"
    errors = {
        name: f"Remove the hidden control character from {NOUNS.get(name, 'this field')}."
        for name, value in values.items()
        if any(ord(c) < 32 for c in value)
    }
    return CheckoutForm(values, errors)


def book_choice(value: str) -> UUID | None:
    """The book address a radio button or a select names: None for a new one (or none)."""
    if value in ("", NEW):
        return None
    try:
        return UUID(value)
    except ValueError:
        raise ValueError(value) from None


def _book_ids(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The request's `*_address_id` fields from the form's choices; a wrong one is an error."""
    chosen: dict[str, Any] = {}
    for name in BOOK:
        try:
            chosen[name] = book_choice(values[name])
        except ValueError:
            errors.setdefault(name, MESSAGES[name])
    return chosen


def _message(name: str, error: Mapping[str, Any]) -> str:
    """What the shopper reads about one wrong field: too long says by how much it may be."""
    limit = (error.get("ctx") or {}).get("max_length")
    if error["type"] == "string_too_long" and name in NOUNS and limit:
        return f"Shorten {NOUNS[name]} to {limit} characters or fewer."
    return MESSAGES.get(name, "Check the details below.")


def checkout_request(form: CheckoutForm) -> CheckoutRequest | CheckoutForm:
    """The request checkout takes, or the form with a message on every field that is wrong."""
    values, errors = form.values, dict(form.errors)
    body: dict[str, Any] = {"email": values["email"], "payment_provider": values["payment_provider"]}
    body.update({name: found for name, found in _book_ids(values, errors).items() if found})
    if "shipping_address_id" not in body:
        body["shipping_address"] = {
            name: values[name] for name in ADDRESS if values[name] or name not in OPTIONAL
        }
    try:
        request = CheckoutRequest.model_validate(body)
    except ValidationError as e:
        for error in e.errors():
            loc = [str(part) for part in error["loc"]]
            name = loc[1] if loc[:1] == ["shipping_address"] and len(loc) > 1 else (loc[0] if loc else "")
            key = name if name in MESSAGES else "form"
            errors.setdefault(key, _message(key, error))
        return CheckoutForm(values, errors)
    return CheckoutForm(values, errors) if errors else request
