"""Tests for calendar_utils.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from calendar_utils import is_leap


class IsLeapTest(unittest.TestCase):
    def test_is_leap(self) -> None:
        self.assertTrue(is_leap(2024))
        self.assertFalse(is_leap(1900))
        self.assertTrue(is_leap(2000))


if __name__ == "__main__":
    unittest.main()
