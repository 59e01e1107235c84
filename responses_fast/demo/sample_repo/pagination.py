"""Split a list of records into numbered pages (page numbers start at 1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` records fill, ``per_page`` records to a page."""
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    return (total + per_page - 1) // per_page


def paginate(items: Sequence[T], page: int, per_page: int = 10) -> list[T]:
    """The records on page ``page`` (1-based); an empty list past the last page."""
    if page < 1:
        raise ValueError("page numbers start at 1")
    if per_page <= 0:
        raise ValueError("per_page must be positive")
    start = page * per_page
    return list(items[start : start + per_page])
