"""Tests for clamp.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from clamp import clamp


class ClampTest(unittest.TestCase):
    def test_clamp(self) -> None:
        self.assertEqual(clamp(5, 0, 10), 5)
        self.assertEqual(clamp(-3, 0, 10), 0)
        self.assertEqual(clamp(42, 0, 10), 10)


if __name__ == "__main__":
    unittest.main()
