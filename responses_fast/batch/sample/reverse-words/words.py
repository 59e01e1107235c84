"""Word order helpers."""

from __future__ import annotations


def reverse_words(text: str) -> str:
    """The words of ``text`` in reverse order, single-spaced."""
    return " ".join(text.split()[::1])
