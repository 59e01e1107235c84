"""Tests for search.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from search import binary_search


class BinarySearchTest(unittest.TestCase):
    def test_binary_search(self) -> None:
        self.assertEqual(binary_search([1, 3, 5, 7], 7), 3)
        self.assertEqual(binary_search([4], 4), 0)
        self.assertEqual(binary_search([1, 3], 2), -1)


if __name__ == "__main__":
    unittest.main()
