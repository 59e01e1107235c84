"""Tests for colors.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from colors import rgb_to_hex


class RgbToHexTest(unittest.TestCase):
    def test_rgb_to_hex(self) -> None:
        self.assertEqual(rgb_to_hex(255, 0, 128), "#ff0080")


if __name__ == "__main__":
    unittest.main()
