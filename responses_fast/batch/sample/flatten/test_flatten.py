"""Tests for flatten.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from flatten import flatten


class FlattenTest(unittest.TestCase):
    def test_flatten(self) -> None:
        self.assertEqual(flatten([[1, 2], [3]]), [1, 2, 3])
        self.assertEqual(flatten([]), [])


if __name__ == "__main__":
    unittest.main()
