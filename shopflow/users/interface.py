"""What other components may call."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from ..keys import AUTH, DB, LIMITER, REDIS, SETTINGS
from ..platform.addresses import Address
from ..platform.db import Executor
from . import addresses, errors, history, models, privacy, queries, service, wishlists
from .addresses import address_of, book_entry
from .models import BookEntry, DefaultKind, Theme
from .wishlists import fold_guest_wishlist

__all__ = [
    "BookEntry",
    "Theme",
    "book_address",
    "default_address",
    "fold_guest_wishlist",
    "theme",
]


async def book_address(ex: Executor, user_id: UUID, address_id: UUID) -> Address | None:
    """An address of the user's book, as checkout copies it into an order; None if the book
    has no such address (or it is another user's)."""
    row = await queries.fetch_address(ex, user_id, address_id)
    return address_of(row) if row is not None else None


async def default_address(ex: Executor, user_id: UUID) -> BookEntry | None:
    """The user's default shipping address, or None when the book is empty."""
    row = await queries.fetch_default(ex, user_id, DefaultKind.SHIPPING)
    return book_entry(row) if row is not None else None


async def theme(ex: Executor, user_id: UUID) -> Theme:
    """The theme the user chose for the storefront; the system's when never chosen."""
    row = await queries.fetch_preferences(ex, user_id)
    return Theme(row["theme"]) if row["theme"] else Theme.SYSTEM


# The signed-in customer's own account, for the storefront's pages (the API's routes call the
# same functions).


def credentials(app: web.Application) -> service.Credentials:
    """What email and password changes work with, from the app."""
    settings = app[SETTINGS]
    return service.Credentials(
        app[DB],
        app[AUTH],
        app[REDIS],
        app[LIMITER],
        settings.rate_limit_login_account,
        settings.rate_limit_forgot_account,
    )


def shelf(app: web.Application) -> wishlists.Shelf:
    """What the wishlists work with, from the app."""
    settings = app[SETTINGS]
    return wishlists.Shelf(app[DB], settings.media_cdn_url, settings.cart_ttl, settings.public_url)


Credentials = service.Credentials
profile = service.profile
update_profile = service.update_profile
preferences = service.preferences
put_preferences = service.put_preferences
set_theme = service.set_theme
change_email = service.change_email
change_password = service.change_password
list_addresses = addresses.list_addresses
add_address = addresses.add_address
update_address = addresses.update_address
delete_address = addresses.delete_address
dashboard = history.dashboard
order_history = history.order_history
erase_account = privacy.erase_account
Shelf = wishlists.Shelf
Notices = wishlists.Notices
default_list = wishlists.default_list
lists = wishlists.lists
show_list = wishlists.show_list
add_to_default = wishlists.add_to_default
remove_from_default = wishlists.remove_from_default
create_guest_list = wishlists.create_guest_list
add_item = wishlists.add_item
remove_item = wishlists.remove_item

MAX_ADDRESSES = models.MAX_ADDRESSES
ProfilePatch = models.ProfilePatch
EmailChange = models.EmailChange
PasswordChange = models.PasswordChange
PreferencesIn = models.PreferencesIn
NewBookAddress = models.NewBookAddress
BookAddressPatch = models.BookAddressPatch
ProfileRecord = models.ProfileRecord
PreferencesRecord = models.PreferencesRecord
DashboardRecord = models.DashboardRecord
ItemsPage = models.ItemsPage
WishlistRecord = models.WishlistRecord

AccountGone = errors.AccountGone
AddressBookFull = errors.AddressBookFull
AddressNotFound = errors.AddressNotFound
PasswordRequired = errors.PasswordRequired
ReauthenticationRequired = errors.ReauthenticationRequired
WishlistNotFound = errors.WishlistNotFound
UnknownProduct = errors.UnknownProduct
WishlistFull = errors.WishlistFull
