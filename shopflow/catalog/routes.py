"""The catalog's HTTP routes."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..auth.interface import require_staff
from ..keys import CACHE, DB, SETTINGS
from ..platform.endpoint import endpoint, path_uuid
from ..platform.jsonx import json_response, raw_json_response
from . import service
from .models import (
    CategoryCreate,
    CategoryTree,
    ProductCreate,
    ProductDetail,
    ProductPage,
    ProductQuery,
    ProductUpdate,
    Sku,
    StockLevel,
    StockSet,
    VariantCreate,
    VariantUpdate,
)

routes = web.RouteTableDef()
TAGS = ("catalog",)


@routes.get("/api/v1/products")
@endpoint(
    summary="List and search products",
    tags=TAGS,
    query=ProductQuery,
    response=ProductPage,
    errors=(422,),  # a cursor this list did not make, relevance without q, an unknown category
)
async def list_products(request: web.Request, query: ProductQuery) -> web.Response:
    app = request.app
    page = await service.list_products(app[DB], app[CACHE], query, app[SETTINGS].listing_cache_ttl)
    return raw_json_response(page)


# `product` is the id or slug of a published product, so a new draft's id is not one yet.
@routes.get("/api/v1/products/{product}")
@endpoint(summary="A product by id or slug", tags=TAGS, response=ProductDetail, errors=(404,))
async def get_product(request: web.Request) -> web.Response:
    app = request.app
    doc = await service.product_json(app[DB], app[CACHE], request.match_info["product"])
    return raw_json_response(doc)


@routes.get("/api/v1/categories")
@endpoint(summary="The category tree", tags=TAGS, response=CategoryTree)
async def categories(request: web.Request) -> web.Response:
    return raw_json_response(await service.category_tree(request.app[DB], request.app[CACHE]))


@routes.post("/api/v1/categories")
@endpoint(
    summary="Create a category (staff)",
    tags=TAGS,
    body=CategoryCreate,
    status=201,
    guard=require_staff,
    errors=(409, 422),
)
async def create_category(request: web.Request, body: CategoryCreate) -> web.Response:
    category_id = await service.create_category(request.app[DB], request.app[CACHE], body)
    return json_response({"id": category_id, **body.model_dump(mode="json")}, status=201)


@routes.post("/api/v1/products")
@endpoint(
    summary="Create a product (staff)",
    tags=TAGS,
    body=ProductCreate,
    response=ProductDetail,
    status=201,
    guard=require_staff,
    makes={"product": "/id", "variant_id": "/variants/0/id", "sku": "/variants/0/sku"},
    errors=(409, 422),
)
async def create_product(request: web.Request, body: ProductCreate) -> web.Response:
    app = request.app
    doc = await service.create_product(app[DB], app[CACHE], body, app[SETTINGS].currency)
    return raw_json_response(doc, status=201)


@routes.patch("/api/v1/products/{product}")
@endpoint(
    summary="Update a product (staff)",
    tags=TAGS,
    body=ProductUpdate,
    response=ProductDetail,
    guard=require_staff,
    path={"product": UUID},
    errors=(404, 409, 422),
)
async def update_product(request: web.Request, body: ProductUpdate) -> web.Response:
    app = request.app
    doc = await service.update_product(app[DB], app[CACHE], path_uuid(request, "product"), body)
    return raw_json_response(doc)


@routes.delete("/api/v1/products/{product}")
@endpoint(
    summary="Delete a product (staff): archived, kept for order history",
    tags=TAGS,
    status=204,
    guard=require_staff,
    path={"product": UUID},
    errors=(404,),
)
async def delete_product(request: web.Request) -> web.Response:
    app = request.app
    archive = ProductUpdate(status="archived")
    await service.update_product(app[DB], app[CACHE], path_uuid(request, "product"), archive)
    return web.Response(status=204)


@routes.post("/api/v1/products/{product}/variants")
@endpoint(
    summary="Add a variant (staff)",
    tags=TAGS,
    body=VariantCreate,
    response=ProductDetail,
    status=201,
    guard=require_staff,
    path={"product": UUID},
    errors=(404, 409),
)
async def add_variant(request: web.Request, body: VariantCreate) -> web.Response:
    app = request.app
    doc = await service.add_variant(
        app[DB], app[CACHE], path_uuid(request, "product"), body, app[SETTINGS].currency
    )
    return raw_json_response(doc, status=201)


@routes.patch("/api/v1/variants/{variant_id}")
@endpoint(
    summary="Update a variant (staff)",
    tags=TAGS,
    body=VariantUpdate,
    response=ProductDetail,
    guard=require_staff,
    path={"variant_id": UUID},
    errors=(404,),
)
async def update_variant(request: web.Request, body: VariantUpdate) -> web.Response:
    app = request.app
    doc = await service.update_variant(
        app[DB], app[CACHE], path_uuid(request, "variant_id"), body, app[SETTINGS].currency
    )
    return raw_json_response(doc)


@routes.delete("/api/v1/variants/{variant_id}")
@endpoint(
    summary="Delete a variant and its stock (staff)",
    tags=TAGS,
    status=204,
    guard=require_staff,
    path={"variant_id": UUID},
    errors=(404, 409),
)
async def delete_variant(request: web.Request) -> web.Response:
    await service.delete_variant(request.app[DB], request.app[CACHE], path_uuid(request, "variant_id"))
    return web.Response(status=204)


@routes.put("/api/v1/inventory/{sku}")
@endpoint(
    summary="Set the units on hand for a SKU (staff)",
    tags=TAGS,
    body=StockSet,
    response=StockLevel,
    guard=require_staff,
    path={"sku": Sku},
    errors=(404, 409),
)
async def set_stock(request: web.Request, body: StockSet) -> web.Response:
    app = request.app
    level = await service.set_stock(app[DB], app[CACHE], request.match_info["sku"], body.on_hand)
    return json_response(level)
