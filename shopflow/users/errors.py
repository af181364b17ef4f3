"""The users component's errors, as clients see them."""

from __future__ import annotations

from ..platform.errors import Unauthorized


class AccountGone(Unauthorized):
    """The caller's token outlived their account."""

    code = "account_gone"
