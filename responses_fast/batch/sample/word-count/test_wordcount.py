"""Tests for wordcount.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from wordcount import word_count


class WordCountTest(unittest.TestCase):
    def test_word_count(self) -> None:
        self.assertEqual(word_count("a  b\tc"), 3)
        self.assertEqual(word_count(""), 0)


if __name__ == "__main__":
    unittest.main()
