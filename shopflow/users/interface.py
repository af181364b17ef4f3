"""What other components may call."""

from __future__ import annotations

from .wishlists import fold_guest_wishlist

__all__ = ["fold_guest_wishlist"]
