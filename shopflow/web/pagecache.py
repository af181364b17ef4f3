"""Rendered pages kept in this process's memory, by a key that determines them (see
guest.py), least recently used out first; and the parsed form of a few documents. A page is
kept as bytes, or as the compressed pieces it is put together from (gzipped.py)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import orjson

Kept = bytes | tuple[bytes, ...]
MAX_BYTES = 32 * 1024 * 1024
MAX_PARSED = 64
MAX_DERIVED = 1024
T = TypeVar("T")


class PageCache:
    """Rendered pages by key, least recently used out first past `max_bytes`; and the
    parsed form of a few documents (the category tree every page reads)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._pages: OrderedDict[Hashable, Kept] = OrderedDict()
        self._parsed: OrderedDict[bytes, Any] = OrderedDict()
        self._derived: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Kept | None:
        body = self._pages.get(key)
        if body is not None:
            self._pages.move_to_end(key)
        return body

    def put(self, key: Hashable, body: Kept) -> None:
        if _size(body) > self.max_bytes:
            return
        old = self._pages.pop(key, None)
        self.size += _size(body) - (_size(old) if old is not None else 0)
        self._pages[key] = body
        while self.size > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self.size -= _size(dropped)

    def parsed(self, doc: bytes) -> Any:
        """The document parsed, shared: its readers must not change it."""
        found = self._parsed.get(doc)
        if found is None:
            found = self._parsed[doc] = orjson.loads(doc)
            if len(self._parsed) > MAX_PARSED:
                self._parsed.popitem(last=False)
        return found

    def derived(self, key: Hashable, make: Callable[[], T]) -> T:
        """What `make()` derives from `key` alone (a page's query read into the catalog's),
        kept for the next request with the same key; shared: its readers must not change it."""
        found = self._derived.get(key)
        if found is None:
            found = self._derived[key] = make()
            if len(self._derived) > MAX_DERIVED:
                self._derived.popitem(last=False)
        return found


def _size(kept: Kept) -> int:
    return len(kept) if isinstance(kept, bytes) else sum(map(len, kept))
