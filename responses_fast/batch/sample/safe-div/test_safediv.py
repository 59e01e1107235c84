"""Tests for safediv.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from safediv import safe_div


class SafeDivTest(unittest.TestCase):
    def test_safe_div(self) -> None:
        self.assertIsNone(safe_div(1, 0))
        self.assertEqual(safe_div(6, 3), 2)


if __name__ == "__main__":
    unittest.main()
