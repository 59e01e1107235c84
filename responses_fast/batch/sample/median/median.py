"""The median of a list."""

from __future__ import annotations


def median(xs: list[float]) -> float:
    """The middle value (the mean of the two middle values for an even count)."""
    s = sorted(xs)
    n = len(s)
    if n % 2 == 0:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) / 2
