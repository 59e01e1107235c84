"""Palindromes, ignoring case, spaces and punctuation."""

from __future__ import annotations


def is_palindrome(text: str) -> bool:
    """Whether ``text`` reads the same backwards (letters and digits only, any case)."""
    cleaned = text.lower()
    return cleaned == cleaned[::-1]
