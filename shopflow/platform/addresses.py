"""The one postal address shape: what checkout takes and orders keep, and what the address
book stores. Each field's rules are a type of its own, so a partial update (a patch of the
book) checks a field exactly as the whole address does."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, JsonValue

from .countries import COUNTRIES
from .endpoint import Body

COUNTRY_CODES: list[JsonValue] = [*sorted(COUNTRIES)]
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def _iso_country(v: str) -> str:
    if v not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 code such as US or DE")
    return v


Name = Annotated[str, Field(min_length=1, max_length=200)]
Line = Annotated[str, Field(min_length=1, max_length=200)]
OptionalLine = Annotated[str, Field(max_length=200)]
City = Annotated[str, Field(min_length=1, max_length=100)]
Region = Annotated[str, Field(max_length=100)]
PostalCode = Annotated[str, Field(min_length=1, max_length=20)]
Country = Annotated[
    str,
    Field(description="ISO 3166-1 alpha-2, e.g. US", json_schema_extra={"enum": COUNTRY_CODES}),
    AfterValidator(_iso_country),
]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ()./-]{4,32}$")]


class Address(Body):
    name: Name
    line1: Line
    line2: OptionalLine | None = None
    city: City
    region: Region | None = None
    postal_code: PostalCode
    country: Country
    phone: Phone | None = None
