"""What the arq jobs work with: one typed object that a worker builds when it starts and
keeps in arq's context under one key (arq hands each job that dict)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis

from .checkout.context import Checkout
from .media.tasks import MediaWork
from .platform.cache import Cache
from .platform.db import Database
from .platform.settings import Settings

KEY = "shopflow"


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    db: Database
    queue: ArqRedis
    cache: Cache  # to drop what the jobs' writes change
    checkout: Checkout
    media: MediaWork
    worker_id: str  # host:pid


def job_context(ctx: Mapping[str, Any]) -> JobContext:
    """The typed context in a job's arq context."""
    context: JobContext = ctx[KEY]
    return context
