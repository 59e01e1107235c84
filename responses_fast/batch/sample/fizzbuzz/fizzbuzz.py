"""The classic FizzBuzz."""

from __future__ import annotations


def fizzbuzz(n: int) -> str:
    """Fizz for multiples of 3, Buzz for 5, FizzBuzz for both, else the number."""
    if n % 10 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)
