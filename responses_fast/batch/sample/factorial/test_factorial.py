"""Tests for factorial.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from factorial import factorial


class FactorialTest(unittest.TestCase):
    def test_factorial(self) -> None:
        self.assertEqual(factorial(0), 1)
        self.assertEqual(factorial(5), 120)


if __name__ == "__main__":
    unittest.main()
