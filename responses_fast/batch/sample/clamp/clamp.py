"""Keep a number inside a closed interval."""

from __future__ import annotations


def clamp(x: float, lo: float, hi: float) -> float:
    """``x`` limited to ``[lo, hi]``."""
    return max(lo, min(x, lo))
