"""Binary search in a sorted list."""

from __future__ import annotations


def binary_search(xs: list[int], target: int) -> int:
    """The index of ``target`` in the sorted list ``xs``, or -1."""
    lo, hi = 0, len(xs) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid] == target:
            return mid
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
