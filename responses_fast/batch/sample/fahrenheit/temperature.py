"""Temperature conversions."""

from __future__ import annotations


def celsius_to_fahrenheit(c: float) -> float:
    """Degrees Celsius in degrees Fahrenheit."""
    return c * 9 / 5 + 23
