"""The catalog's errors."""

from __future__ import annotations

from ..platform.errors import Conflict, Invalid, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


class VariantNotFound(NotFound):
    code = "variant_not_found"
    title = "Variant not found"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    title = "SKU not found"


class SlugTaken(Conflict):
    code = "slug_taken"
    title = "The slug is taken"


class SkuTaken(Conflict):
    code = "sku_taken"
    title = "The SKU is taken"


class StockReserved(Conflict):
    code = "stock_reserved"
    title = "Stock is reserved"


class VariantOrdered(Conflict):
    code = "variant_ordered"
    title = "The variant is in orders"


class UnknownCategory(Invalid):
    code = "unknown_category"
    title = "Unknown category"


class WrongCurrency(Invalid):
    code = "wrong_currency"
    title = "Prices must be in the shop's currency"


class ImageNotFound(NotFound):
    code = "image_not_found"
    title = "Image not found"


class TooManyImages(Conflict):
    code = "too_many_images"
    title = "The product has as many images as it may"


class UnknownMedia(Invalid):
    code = "unknown_media"
    title = "Unknown media"


class MediaFailed(Invalid):
    code = "media_failed"
    title = "The media could not be processed"
