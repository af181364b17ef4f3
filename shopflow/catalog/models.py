"""The catalog's request and response models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field, JsonValue

from ..platform.endpoint import Body, Query
from ..platform.models import CURSOR, Money, MoneyOut, Page, Patch

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
SKU = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"  # as the variants table's CHECK says
Sku = Annotated[str, Field(pattern=SKU)]


def Slug(default: Any = ...) -> Any:
    return Field(default, pattern=SLUG, max_length=200)


def Name(default: Any = ...) -> Any:
    return Field(default, min_length=1, max_length=200)


Status = Literal["draft", "active", "archived"]
Sort = Literal["relevance", "price_asc", "price_desc", "newest"]
MAX_IMAGES = 50  # a product's images


# Requests


class ProductQuery(Query):
    q: str | None = Field(None, max_length=200, description="Full-text search")
    category: str | None = Field(
        None, max_length=200, description="Category id or slug; includes its descendants"
    )
    min_price: int | None = Field(None, ge=0, le=10**12, description="Minor units")
    max_price: int | None = Field(None, ge=0, le=10**12, description="Minor units")
    in_stock: bool | None = Field(None, description="true: only products that can be bought now")
    sort: Sort | None = Field(None, description="Default: relevance with q, else newest")
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512, pattern=CURSOR, description="`next_cursor` of a page")


class VariantCreate(Body):
    sku: Sku
    name: str = Name()
    options: dict[str, str] = Field(default_factory=dict, max_length=20)
    price: Money
    position: int = Field(0, ge=0, le=10_000)
    on_hand: int = Field(0, ge=0, le=10**9)


class VariantUpdate(Patch):
    name: str | None = Name(None)
    options: dict[str, str] | None = Field(None, max_length=20)
    price: Money | None = None
    position: int | None = Field(None, ge=0, le=10_000)


class ProductCreate(Body):
    name: str = Name()
    slug: str | None = Slug(None)
    description: str = Field("", max_length=20_000)
    category_id: UUID | None = None
    attributes: dict[str, JsonValue] = Field(default_factory=dict, max_length=100)
    status: Status = "draft"
    variants: list[VariantCreate] = Field(default_factory=list, max_length=100)


class ProductUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"category_id"})

    name: str | None = Name(None)
    slug: str | None = Slug(None)
    description: str | None = Field(None, max_length=20_000)
    category_id: UUID | None = None
    attributes: dict[str, JsonValue] | None = Field(None, max_length=100)
    status: Status | None = None


class CategoryCreate(Body):
    slug: str = Slug()
    name: str = Name()
    parent_id: UUID | None = None
    position: int = Field(0, ge=0, le=10_000)


class StockSet(Body):
    on_hand: int = Field(ge=0, le=10**9)


def Alt(default: Any = ...) -> Any:
    return Field(default, max_length=500, description="The image's text alternative")


def ImagePosition() -> Any:
    return Field(
        None,
        ge=0,
        le=MAX_IMAGES - 1,
        description="0 is first; the others move along to make room. Past the last: the last",
    )


class ImageCreate(Body):
    media_id: UUID = Field(description="A media uploaded through /api/v1/media; shown once it is ready")
    alt: str = Alt("")
    position: int | None = ImagePosition()  # absent or null: after the last


class ImageUpdate(Patch):
    alt: str | None = Alt(None)
    position: int | None = ImagePosition()


# Responses


class PriceRange(BaseModel):
    min: MoneyOut
    max: MoneyOut


class CategoryRef(BaseModel):
    id: UUID
    slug: str
    name: str


class VariantOut(BaseModel):
    id: UUID
    sku: str
    name: str
    options: dict[str, str]
    price: MoneyOut
    position: int
    stock_available: int


class ImageSource(BaseModel):
    type: str = Field(description="image/avif or image/webp")
    srcset: str


class Image(BaseModel):
    """An image as products show it (detail `images`, summary `thumbnail`): ready, so that a
    page can reserve its box (width, height), paint the placeholder (a ThumbHash) first, and
    offer the JPEG (`url`, `srcset`) and the modern encodings (`sources`, best first)."""

    id: UUID
    media_id: UUID
    alt: str
    width: int
    height: int
    placeholder: str
    url: str
    srcset: str
    sources: list[ImageSource]


class ProductImage(BaseModel):
    """An image as staff place it: its product and position, and the picture's fields, null
    (and `sources` empty) until its media is ready."""

    id: UUID
    product_id: UUID
    media_id: UUID
    alt: str
    position: int
    width: int | None
    height: int | None
    placeholder: str | None
    url: str | None
    srcset: str | None
    sources: list[ImageSource]


class ProductDetail(BaseModel):
    id: UUID
    slug: str
    name: str
    description: str
    status: Status
    category: CategoryRef | None
    attributes: dict[str, Any]
    images: list[Image]
    variants: list[VariantOut]
    price_range: PriceRange | None
    created_at: datetime
    updated_at: datetime


class ProductSummary(BaseModel):
    id: UUID
    slug: str
    name: str
    category_id: UUID | None
    price_range: PriceRange
    in_stock: bool
    thumbnail: Image | None = Field(description="The first of its images that is ready")
    created_at: datetime


class ProductPage(Page):
    items: list[ProductSummary]


class CategoryNode(BaseModel):
    id: UUID
    slug: str
    name: str
    parent_id: UUID | None
    children: list[CategoryNode]


class CategoryTree(BaseModel):
    items: list[CategoryNode]


class StockLevel(BaseModel):
    sku: str
    on_hand: int
    reserved: int
    available: int


# Records


@dataclass(frozen=True)
class ImageKey:
    """The image a path names: one of the product's."""

    product_id: UUID
    image_id: UUID


# The outbox job a change that customers may be waiting for writes, with the product's id and
# the `ProductChange`: whoever waits (wishlists' notices) handles it, the catalog knows not who.
PRODUCT_CHANGED = "product_changed"


class ProductChange(StrEnum):
    RESTOCKED = "restocked"  # one of its SKUs had no units available and has some now
    REPRICED = "repriced"  # its lowest price went down
