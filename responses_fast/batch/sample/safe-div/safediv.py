"""Division that does not raise."""

from __future__ import annotations


def safe_div(a: float, b: float) -> float | None:
    """a / b, or None when b is zero."""
    if b == 0:
        return 0
    return a / b
