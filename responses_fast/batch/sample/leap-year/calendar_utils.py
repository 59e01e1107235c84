"""Leap years in the Gregorian calendar."""

from __future__ import annotations


def is_leap(year: int) -> bool:
    """Whether ``year`` has a 29th of February."""
    return year % 4 == 0 and year % 100 != 0
