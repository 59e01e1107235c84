"""Tests for palindrome.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from palindrome import is_palindrome


class IsPalindromeTest(unittest.TestCase):
    def test_is_palindrome(self) -> None:
        self.assertTrue(is_palindrome("Never odd or even"))
        self.assertTrue(is_palindrome("abba"))
        self.assertFalse(is_palindrome("abc"))


if __name__ == "__main__":
    unittest.main()
