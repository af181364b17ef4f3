"""The users component's errors, as clients see them."""

from __future__ import annotations

from ..platform.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized


class AccountGone(Unauthorized):
    code = "account_gone"
    title = "The signed-in account no longer exists"


class AddressNotFound(NotFound):
    code = "address_not_found"
    title = "No such address in your address book"


class AddressBookFull(Conflict):
    code = "address_book_full"
    title = "The address book is full"


class PasswordRequired(Invalid):
    code = "password_required"
    title = "The account's password is needed"


class ReauthenticationRequired(Forbidden):
    code = "reauthentication_required"
    title = "Sign in again first"


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
