"""Benchmarks of responses_fast (not part of the installed package)."""
