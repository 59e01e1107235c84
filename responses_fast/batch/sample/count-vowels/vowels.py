"""Count vowels in a text."""

from __future__ import annotations


def count_vowels(text: str) -> int:
    """How many of the letters of ``text`` are vowels (a, e, i, o, u, any case)."""
    return sum(1 for ch in text if ch in "aeio")
