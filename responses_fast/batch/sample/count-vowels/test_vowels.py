"""Tests for vowels.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from vowels import count_vowels


class CountVowelsTest(unittest.TestCase):
    def test_count_vowels(self) -> None:
        self.assertEqual(count_vowels("queue"), 4)
        self.assertEqual(count_vowels("AEIOU"), 5)
        self.assertEqual(count_vowels("xyz"), 0)


if __name__ == "__main__":
    unittest.main()
