"""Shapes every component shares: money, list envelopes, patches."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .endpoint import Body


class Money(Body):
    amount: int = Field(ge=0, le=10**12, description="Minor units (cents)")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")


# Cursors are opaque, but always URL-safe base64 without padding.
CURSOR = r"^[A-Za-z0-9_-]*$"


class MoneyOut(BaseModel):
    amount: int
    currency: str


class Page(BaseModel):
    next_cursor: str | None


def _patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """What a patch takes: at least one field, and null only where `nullable` allows it."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        branches = prop.get("anyOf")
        if name in nullable or not isinstance(branches, list):
            continue
        kept = [b for b in branches if b != {"type": "null"}]
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        prop.clear()
        prop.update({**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept})
    schema["minProperties"] = 1


class Patch(Body):
    """A partial update: absent fields stay; null is allowed only for `nullable` fields."""

    model_config = ConfigDict(json_schema_extra=_patch_schema)
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
