"""The users component's errors, as clients see them."""

from __future__ import annotations

from ..platform.errors import Forbidden, Invalid, NotFound


class WrongPassword(Forbidden):
    code = "wrong_password"
    title = "The password is not the account's"


class PasswordRequired(Invalid):
    code = "password_required"
    title = "The account's password is needed"


class ReauthenticationRequired(Forbidden):
    code = "reauthentication_required"
    title = "Sign in again first"


class AccountGone(NotFound):
    code = "account_not_found"
    title = "The account does not exist any more"
