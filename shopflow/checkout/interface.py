"""What other components may call."""

from __future__ import annotations

from .carts import merge_guest_cart

__all__ = ["merge_guest_cart"]
