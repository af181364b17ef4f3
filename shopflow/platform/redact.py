"""Finding a person's identifiers (email addresses, names, phone numbers) in text kept for
other reasons (an order's history notes, a mail's body), so that erasing them can replace
each with `ERASED` and keep the rest.

`pattern` is one PostgreSQL regular expression matching any of them, for
`regexp_replace(text, pattern, ERASED, 'gi')` and `text ~* pattern`.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

ERASED = "[erased]"
MIN_LENGTH = 3  # shorter text names nobody, and would cut into every word that holds it
_SPECIAL = frozenset(string.punctuation)  # `\` and one of these is that character in an ARE


def _literal(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def pattern(terms: Iterable[str | None]) -> str | None:
    """A regular expression matching any of the terms as written (case aside), longest first;
    None when none is long enough to name anyone."""
    kept = sorted(
        {t.strip() for t in terms if t and len(t.strip()) >= MIN_LENGTH}, key=lambda t: (-len(t), t)
    )
    return "|".join(_literal(t) for t in kept) or None
