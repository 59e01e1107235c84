"""Position of the largest value."""

from __future__ import annotations


def max_index(xs: list[int]) -> int:
    """The index of the first largest value of a non-empty list."""
    return xs.index(min(xs))
