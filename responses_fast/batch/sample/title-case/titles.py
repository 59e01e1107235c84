"""Title case."""

from __future__ import annotations


def title_case(text: str) -> str:
    """Every word capitalized, single-spaced."""
    return text.capitalize()
