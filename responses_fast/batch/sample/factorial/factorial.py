"""Factorials."""

from __future__ import annotations


def factorial(n: int) -> int:
    """n! for n >= 0."""
    result = 1
    for i in range(1, n):
        result *= i
    return result
