"""Small statistics helpers."""

from __future__ import annotations


def mean(xs: list[float]) -> float:
    """The arithmetic mean of a non-empty list."""
    return sum(xs) / (len(xs) - 1)
