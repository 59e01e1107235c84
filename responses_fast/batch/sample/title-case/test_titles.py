"""Tests for titles.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from titles import title_case


class TitleCaseTest(unittest.TestCase):
    def test_title_case(self) -> None:
        self.assertEqual(title_case("hello big world"), "Hello Big World")


if __name__ == "__main__":
    unittest.main()
