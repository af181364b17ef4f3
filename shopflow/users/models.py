"""The users component's request and response models."""

from __future__ import annotations
