"""The auth component's errors."""

from __future__ import annotations

from ..platform.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Wrong email or password"


class InvalidToken(Unauthorized):
    code = "invalid_token"
    title = "The token is not valid"


class EmailTaken(Conflict):
    code = "email_taken"
    title = "An account with this email exists"


class WeakPassword(Invalid):
    code = "weak_password"
    title = "The password is too common"


class InvalidAccountToken(BadRequest):
    code = "invalid_or_expired_token"
    title = "The link is not valid or has expired"


class UnknownAccount(NotFound):
    code = "unknown_account"
    title = "No such account"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "The CSRF token is missing or wrong"
