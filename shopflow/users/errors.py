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
