"""Tests for stats.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from stats import mean


class MeanTest(unittest.TestCase):
    def test_mean(self) -> None:
        self.assertEqual(mean([1, 2, 3]), 2)
        self.assertEqual(mean([4]), 4)


if __name__ == "__main__":
    unittest.main()
