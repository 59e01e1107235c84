"""Tests for chunks.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from chunks import chunk


class ChunkTest(unittest.TestCase):
    def test_chunk(self) -> None:
        self.assertEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]])
        self.assertEqual(chunk([], 3), [])


if __name__ == "__main__":
    unittest.main()
