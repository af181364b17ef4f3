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


class UnknownProvider(NotFound):
    code = "unknown_provider"
    title = "No sign-in through this provider"


class OAuthFailed(BadRequest):
    code = "oauth_failed"
    title = "The sign-in through the provider failed"


class SignInAndLink(Conflict):
    code = "sign_in_and_link"
    title = "An account with this email exists: sign in to it, then link the provider"


class IdentityLinked(Conflict):
    code = "identity_linked_elsewhere"
    title = "This provider account belongs to another ShopFlow account"


class AccountDisabled(Forbidden):
    code = "account_disabled"
    title = "The account is disabled"


class NotLinked(NotFound):
    code = "provider_not_linked"
    title = "The provider is not linked to this account"


class LastWayIn(Conflict):
    code = "last_sign_in_method"
    title = "The account's only way to sign in cannot be removed"


class WrongPassword(Forbidden):
    # 403, not 401: the caller is signed in, and a client must not take this for a lost session.
    code = "wrong_password"
    title = "The password is not right"
