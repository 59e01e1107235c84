"""Tests for fizzbuzz.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from fizzbuzz import fizzbuzz


class FizzbuzzTest(unittest.TestCase):
    def test_fizzbuzz(self) -> None:
        self.assertEqual(fizzbuzz(15), "FizzBuzz")
        self.assertEqual(fizzbuzz(10), "Buzz")
        self.assertEqual(fizzbuzz(9), "Fizz")
        self.assertEqual(fizzbuzz(7), "7")


if __name__ == "__main__":
    unittest.main()
