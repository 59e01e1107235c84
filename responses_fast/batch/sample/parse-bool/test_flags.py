"""Tests for flags.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from flags import parse_bool


class ParseBoolTest(unittest.TestCase):
    def test_parse_bool(self) -> None:
        self.assertTrue(parse_bool("ON"))
        self.assertTrue(parse_bool("1"))
        self.assertFalse(parse_bool("no"))


if __name__ == "__main__":
    unittest.main()
