"""Tests for median.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from median import median


class MedianTest(unittest.TestCase):
    def test_median(self) -> None:
        self.assertEqual(median([3, 1, 2]), 2)
        self.assertEqual(median([4, 1, 3, 2]), 2.5)


if __name__ == "__main__":
    unittest.main()
