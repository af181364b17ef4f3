"""The users component's errors, as clients see them."""

from __future__ import annotations
