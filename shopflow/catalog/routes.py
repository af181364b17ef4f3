"""The catalog's HTTP routes."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..auth.interface import require_staff
from ..keys import CACHE, DB, REDIS, SETTINGS
from ..platform.endpoint import endpoint, path_uuid
from ..platform.jsonx import json_response, raw_json_response
from . import images, service
from .models import (
    CategoryCreate,
    CategoryTree,
    ImageCreate,
    ImageKey,
    ImageUpdate,
    ProductCreate,
    ProductDetail,
    ProductImage,
    ProductPage,
    ProductQuery,
    ProductUpdate,
    Sku,
    StockLevel,
    StockSet,
    VariantCreate,
    VariantUpdate,
)
from .pictures import placed_json

routes = web.RouteTableDef()
TAGS = ("catalog",)


def _shop(app: web.Application) -> service.Shop:
    settings = app[SETTINGS]
    return service.Shop(settings.currency, settings.media_cdn_url)


@routes.get("/api/v1/products")
@endpoint(
    summary="List and search products",
    tags=TAGS,
    query=ProductQuery,
    response=ProductPage,
    errors=(422,),  # a cursor this list did not make, relevance without q, an unknown category
)
async def list_products(request: web.Request, query: ProductQuery) -> web.Response:
    app, settings = request.app, request.app[SETTINGS]
    page = await service.list_products(
        app[DB], app[CACHE], query, settings.listing_cache_ttl, settings.media_cdn_url
    )
    return raw_json_response(page)


# `product` is the id or slug of a published product, so a new draft's id is not one yet.
@routes.get("/api/v1/products/{product}")
@endpoint(summary="A product by id or slug", tags=TAGS, response=ProductDetail, errors=(404,))
async def get_product(request: web.Request) -> web.Response:
    app = request.app
    doc = await service.product_json(
        app[DB], app[CACHE], request.match_info["product"], app[SETTINGS].media_cdn_url
    )
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
    doc = await service.create_product(app[DB], app[CACHE], body, _shop(app))
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
    doc = await service.update_product(app[DB], app[CACHE], path_uuid(request, "product"), body, _shop(app))
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
    await service.update_product(app[DB], app[CACHE], path_uuid(request, "product"), archive, _shop(app))
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
        app[DB], app[CACHE], path_uuid(request, "product"), body, _shop(app), app[REDIS]
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
        app[DB], app[CACHE], path_uuid(request, "variant_id"), body, _shop(app), app[REDIS]
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


def _image_key(request: web.Request) -> ImageKey:
    return ImageKey(path_uuid(request, "product"), path_uuid(request, "image_id"))


@routes.post("/api/v1/products/{product}/images")
@endpoint(
    summary="Add an image to a product (staff): a media, shown once it is ready",
    tags=TAGS,
    body=ImageCreate,
    response=ProductImage,
    status=201,
    guard=require_staff,
    path={"product": UUID},
    makes={"product": "/product_id", "image_id": "/id"},
    errors=(404, 409, 422),  # 409: the product has 50 images; 422: the media is unknown or failed
)
async def add_image(request: web.Request, body: ImageCreate) -> web.Response:
    app = request.app
    image = await images.add_image(
        app[DB], app[CACHE], path_uuid(request, "product"), body, app[SETTINGS].media_cdn_url
    )
    return json_response(placed_json(image), status=201)


@routes.patch("/api/v1/products/{product}/images/{image_id}")
@endpoint(
    summary="Change an image's alt text or position (staff)",
    tags=TAGS,
    body=ImageUpdate,
    response=ProductImage,
    guard=require_staff,
    path={"product": UUID, "image_id": UUID},
    errors=(404,),
)
async def update_image(request: web.Request, body: ImageUpdate) -> web.Response:
    app = request.app
    image = await images.update_image(
        app[DB], app[CACHE], _image_key(request), body, app[SETTINGS].media_cdn_url
    )
    return json_response(placed_json(image))


@routes.delete("/api/v1/products/{product}/images/{image_id}")
@endpoint(
    summary="Remove an image from a product (staff); the media stays",
    tags=TAGS,
    status=204,
    guard=require_staff,
    path={"product": UUID, "image_id": UUID},
    errors=(404,),
)
async def remove_image(request: web.Request) -> web.Response:
    await images.remove_image(request.app[DB], request.app[CACHE], _image_key(request))
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
    level = await service.set_stock(app[DB], app[CACHE], request.match_info["sku"], body.on_hand, app[REDIS])
    return json_response(level)
