"""Parse yes/no flags."""

from __future__ import annotations


def parse_bool(text: str) -> bool:
    """True for true, yes, 1 and on (any case); False otherwise."""
    return text.lower() in ("true", "yes")
