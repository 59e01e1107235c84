"""How the text of an ``apply_patch`` envelope is cut into lines and header paths.

The policy (``Policy.check_patch``) and the patch parser
(``responses_fast.tools.builtin.apply_patch.parse_patch``) both read a patch through these two
functions, so they always see the same lines and the same paths. They once disagreed: the parser
split on every Unicode line break (``str.splitlines``) and the policy on ``\\n`` only, so a
``.git/hooks/pre-commit`` header hidden behind ``\\r`` or U+2028 was written by the parser but never
seen by the policy.

The rule: lines end with ``\\n`` (a ``\\r`` right before it is dropped, so CRLF patches work).
Any other line break Python or an editor might honour (a bare ``\\r``, ``\\v``, ``\\f``,
``\\x1c``-``\\x1e``, ``\\x85``, U+2028, U+2029) and NUL bytes are refused with a clear error
instead of being guessed at; to put such characters into a file, use the shell tool.
"""

from __future__ import annotations

import re

__all__ = ["PATCH_HEADERS", "PatchTextError", "header_path", "patch_lines"]

#: The header prefixes that name a path, and the operation each one stands for.
PATCH_HEADERS: tuple[tuple[str, str], ...] = (
    ("*** Add File: ", "Add File"),
    ("*** Delete File: ", "Delete File"),
    ("*** Update File: ", "Update File"),
    ("*** Move to: ", "Move to"),
)


class PatchTextError(ValueError):
    """The patch text holds a character the line rule refuses (see the module docstring)."""


# Every line break str.splitlines() knows except "\n" and "\r\n", plus NUL.
_REFUSED = re.compile("[\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\r(?!\n)")
_NAMES = {
    "\x00": "a NUL byte",
    "\r": "a carriage return (\\r) outside a \\r\\n line break",
    "\x0b": "a vertical tab (\\v)",
    "\x0c": "a form feed (\\f)",
    "\x1c": "a file separator (\\x1c)",
    "\x1d": "a group separator (\\x1d)",
    "\x1e": "a record separator (\\x1e)",
    "\x85": "a next-line character (U+0085)",
    "\u2028": "a line separator (U+2028)",
    "\u2029": "a paragraph separator (U+2029)",
}
# Characters a header path may not hold (after stripping the spaces around it).
_BAD_PATH = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")


def patch_lines(text: str) -> list[str]:
    """The lines of ``text``, split on ``\\n`` with one trailing ``\\r`` dropped from each.

    Raises :class:`PatchTextError` (saying which line and which character) for NUL bytes and for
    any line break other than ``\\n`` / ``\\r\\n``.
    """
    bad = _REFUSED.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise PatchTextError(
            f"line {line} of the patch contains {_NAMES[bad.group()]}; apply_patch accepts only"
            " \\n (or \\r\\n) line breaks and no NUL bytes (use the shell tool to write such"
            " characters)"
        )
    lines = text.split("\n")
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines


def header_path(line: str) -> tuple[str, str] | None:
    """``(operation, path)`` if ``line`` is a header naming a path, else None.

    The path is the rest of the line with surrounding whitespace stripped. Raises
    :class:`PatchTextError` for an empty path or one holding control characters.
    """
    if not line.startswith("*** "):
        return None
    for prefix, op in PATCH_HEADERS:
        if line.startswith(prefix):
            path = line[len(prefix) :].strip()
            if not path:
                raise PatchTextError(f"'{prefix.strip()}' has an empty path")
            bad = _BAD_PATH.search(path)
            if bad is not None:
                raise PatchTextError(
                    f"'{prefix}{path!r}': a path may not contain control characters"
                    f" ({bad.group()!r})"
                )
            return op, path
    return None
