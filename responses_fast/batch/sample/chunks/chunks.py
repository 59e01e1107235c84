"""Split a list into chunks."""

from __future__ import annotations


def chunk(xs: list[int], size: int) -> list[list[int]]:
    """``xs`` cut into consecutive pieces of ``size`` (the last may be shorter)."""
    return [xs[i : i + size] for i in range(0, len(xs), size + 1)]
