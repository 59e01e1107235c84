"""Tests for dedupe.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from dedupe import dedupe


class DedupeTest(unittest.TestCase):
    def test_dedupe(self) -> None:
        self.assertEqual(dedupe([3, 1, 3, 2, 1]), [3, 1, 2])


if __name__ == "__main__":
    unittest.main()
