"""Colour formats."""

from __future__ import annotations


def rgb_to_hex(r: int, g: int, b: int) -> str:
    """``#rrggbb`` for 0-255 components."""
    return f"#{r:02x}{g:02x}{g:02x}"
