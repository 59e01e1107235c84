"""Tests for pagination.py; run them with ``python -m unittest``."""

from __future__ import annotations

import unittest

from pagination import page_count, paginate

RECORDS = list(range(1, 26))  # 25 records: pages of 10, 10 and 5


class PaginateTest(unittest.TestCase):
    def test_first_page_starts_with_the_first_record(self) -> None:
        self.assertEqual(paginate(RECORDS, 1), list(range(1, 11)))

    def test_last_page_is_partial(self) -> None:
        self.assertEqual(paginate(RECORDS, 3), [21, 22, 23, 24, 25])

    def test_past_the_end_is_empty(self) -> None:
        self.assertEqual(paginate(RECORDS, 4), [])

    def test_page_zero_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            paginate(RECORDS, 0)


class PageCountTest(unittest.TestCase):
    def test_partial_page_counts(self) -> None:
        self.assertEqual(page_count(25, 10), 3)

    def test_exact_fit(self) -> None:
        self.assertEqual(page_count(20, 10), 2)


if __name__ == "__main__":
    unittest.main()
