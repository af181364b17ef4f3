"""Shapes every component shares: money, list envelopes, patches."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from .endpoint import Body


class Money(Body):
    amount: int = Field(ge=0, le=10**12, description="Minor units (cents)")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")


class MoneyOut(BaseModel):
    amount: int
    currency: str


class Page(BaseModel):
    next_cursor: str | None


class Patch(Body):
    """A partial update: absent fields stay; null is allowed only for `nullable` fields."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)
