"""Tests for words.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from words import reverse_words


class ReverseWordsTest(unittest.TestCase):
    def test_reverse_words(self) -> None:
        self.assertEqual(reverse_words("a b c"), "c b a")
        self.assertEqual(reverse_words("one"), "one")


if __name__ == "__main__":
    unittest.main()
