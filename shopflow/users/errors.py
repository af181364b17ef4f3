"""The users component's errors, as clients see them."""

from __future__ import annotations

from ..platform.errors import Conflict, Invalid, NotFound

# Wishlists


class WishlistNotFound(NotFound):
    code = "wishlist_not_found"


class WishlistItemNotFound(NotFound):
    code = "wishlist_item_not_found"


class UnknownProduct(Invalid):
    """The product named is not on sale: unknown, a draft or archived."""

    code = "unknown_product"


class WishlistFull(Conflict):
    code = "wishlist_full"


class TooManyWishlists(Conflict):
    code = "too_many_wishlists"


class DefaultWishlistKept(Conflict):
    """The default list can be emptied or renamed, not deleted."""

    code = "default_wishlist_kept"
