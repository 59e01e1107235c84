"""Flatten a list of lists."""

from __future__ import annotations


def flatten(xss: list[list[int]]) -> list[int]:
    """The items of every inner list, in order."""
    return [x for xs in xss for x in xss]
