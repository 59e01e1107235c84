"""Tests for argmax.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from argmax import max_index


class MaxIndexTest(unittest.TestCase):
    def test_max_index(self) -> None:
        self.assertEqual(max_index([3, 9, 2, 9]), 1)


if __name__ == "__main__":
    unittest.main()
