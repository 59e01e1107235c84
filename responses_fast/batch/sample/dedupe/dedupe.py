"""Remove duplicates."""

from __future__ import annotations


def dedupe(xs: list[int]) -> list[int]:
    """``xs`` without repeated values, first occurrences in their order."""
    return list(set(xs))
