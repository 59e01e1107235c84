"""Secret redaction for tool outputs, before they reach the model.

``redact(text)`` replaces API keys, tokens, private keys and credential assignments with
``[REDACTED:<kind>]``.

Speed: Python's ``re`` does not optimize an alternation of many patterns (one combined regex
scanned a 4 KB output in about 1 ms), but a single pattern that starts with a literal is found
with a fast literal search. So each kind has a few literal hints checked with ``in`` on the
lower-cased text; clean text (the common case) costs only those substring checks, and only the
kinds whose hints occur are compiled into one alternation and run. See benchmarks/bench_safety.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["KINDS", "Redacted", "redact"]


@dataclass(frozen=True, slots=True)
class Redacted:
    """The redacted text, how many secrets were replaced, and their kinds (first-seen order)."""

    text: str
    count: int = 0
    kinds: tuple[str, ...] = ()


# (kind, lower-case hints, pattern). A pattern with a group named "<kind>_v" redacts only that
# group (the value), keeping its context ("aws_secret_access_key = ").
_PATTERNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("private_key", ("private key",),
     r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----[\s\S]*?"
     r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----|\Z)"),
    ("anthropic_key", ("sk-ant-",), r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("stripe_key", ("_live_", "_test_"), r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("openai_key", ("sk-",), r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
    ("cerebras_key", ("csk-",), r"csk-[A-Za-z0-9_\-]{20,}"),
    ("aws_access_key_id", ("akia", "asia", "abia", "acca"),
     r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    ("aws_secret_key", ("aws",),
     r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?"
     r"(?P<aws_secret_key_v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
    ("github_token", ("gh", "github_pat_"),
     r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("slack_token", ("xox",), r"xox[bpars]-[A-Za-z0-9\-]{10,}"),
    ("google_api_key", ("aiza",), r"AIza[0-9A-Za-z_\-]{35}"),
    ("jwt", ("eyj",), r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("bearer_token", ("authorization",),
     r"(?i:authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|token|basic)\s+)"
     r"(?P<bearer_token_v>[A-Za-z0-9._~+/=\-]{8,})"),
    ("url_password", ("://",), r"://[^\s:/@]+:(?P<url_password_v>[^\s@/]{3,})@"),
    ("assignment", ("pass", "secret", "key", "token"),
     r"(?P<assignment_k>(?i:password|passwd|secret|api[_-]?key|apikey|access[_-]?key"
     r"|auth[_-]?token|token)[A-Za-z0-9_]*)"
     r"[\"']?\s*[:=]\s*(?P<assignment_q>[\"']?)"
     r"(?P<assignment_v>(?<=[\"'])[^\"'\n]{4,}(?=[\"'])|[^\s\"'`,;]{4,})"
     r"(?P=assignment_q)"),
)  # fmt: skip

KINDS: tuple[str, ...] = tuple(k for k, _, _ in _PATTERNS)
# Patterns that start with a case-insensitive keyword get no fast literal search from ``re``;
# they run only on the lines that contain one of their hints.
_LINE_KINDS = frozenset({"aws_secret_key", "bearer_token", "assignment"})
_COMPILED: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (k, h, re.compile(p)) for k, h, p in _PATTERNS if k not in _LINE_KINDS
) + tuple((k, h, re.compile(p)) for k, h, p in _PATTERNS if k in _LINE_KINDS)
_VALUE_GROUP = {kind: f"{kind}_v" for kind, _, pat in _PATTERNS if f"?P<{kind}_v>" in pat}
# Token-like kinds must not start in the middle of a word ("task-..." is not "sk-...").
_WORD_START = frozenset(
    {"anthropic_key", "stripe_key", "openai_key", "cerebras_key", "aws_access_key_id",
     "github_token", "slack_token", "google_api_key", "jwt"}
)  # fmt: skip
_NOT_VALUES = frozenset({"none", "null", "true", "false", "undefined", "required", "optional",
                         "string", "redacted", "changeme", "example", "xxxx", "****"})  # fmt: skip
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _assignment_ok(text: str, m: re.Match[str]) -> bool:
    """Whether an assignment-looking match is worth redacting (a literal, not code)."""
    start = m.start()
    i = start
    while i and text[i - 1] in _KEY_CHARS:  # "DB_PASSWORD=" matches from "PASSWORD"
        i -= 1
    key = text[i:start] + m.group("assignment_k")
    value = m.group("assignment_v")
    if value.startswith(("[REDACTED", "$", "{", "<", "%", "(", "[", "*")) or "(" in value:
        return False
    if value.lower() in _NOT_VALUES:
        return False
    if m.group("assignment_q"):
        return len(value) >= 6
    # Env/config style (API_KEY=...) or a value that looks generated (has a digit).
    return key.isupper() or any(c.isdigit() for c in value)


class _Pass:
    """Replacement callback for one kind, counting what it replaced."""

    __slots__ = ("count", "kind", "src", "vgroup")

    def __init__(self, kind: str, src: str) -> None:
        self.kind = kind
        self.src = src
        self.count = 0
        self.vgroup = _VALUE_GROUP.get(kind)

    def __call__(self, m: re.Match[str]) -> str:
        src = self.src
        start = m.start()
        if (
            self.kind in _WORD_START
            and start
            and (src[start - 1].isalnum() or src[start - 1] == "_")
        ):
            return m.group(0)
        if self.kind == "assignment" and not _assignment_ok(src, m):
            return m.group(0)
        self.count += 1
        tag = f"[REDACTED:{self.kind}]"
        if self.vgroup is None:
            return tag
        return src[start : m.start(self.vgroup)] + tag + src[m.end(self.vgroup) : m.end()]


def _hint_lines(text: str, lower: str, hints: tuple[str, ...]) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans of the lines of ``text`` that contain a hint."""
    spans: list[tuple[int, int]] = []
    for hint in hints:
        pos = lower.find(hint)
        while pos >= 0:
            a = text.rfind("\n", 0, pos) + 1
            b = text.find("\n", pos)
            b = len(text) if b < 0 else b
            spans.append((a, b))
            pos = lower.find(hint, b)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def redact(text: str) -> Redacted:
    """Replace secrets in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return Redacted(text)
    lower = text.lower()
    active = [(k, h, rx) for k, h, rx in _COMPILED if any(x in lower for x in h)]
    if not active:
        return Redacted(text)
    kinds: list[str] = []
    count = 0
    changed = False
    for kind, hints, rx in active:
        if kind in _LINE_KINDS:
            if changed:
                lower = text.lower()
                changed = False
            spans = _hint_lines(text, lower, hints)
            parts: list[str] = []
            last = 0
            found = 0
            for a, b in spans:
                seg = text[a:b]
                cb = _Pass(kind, seg)
                new = rx.sub(cb, seg)
                if cb.count:
                    parts.append(text[last:a])
                    parts.append(new)
                    last = b
                    found += cb.count
            if found:
                parts.append(text[last:])
                text = "".join(parts)
        else:
            cb = _Pass(kind, text)
            text = rx.sub(cb, text)
            found = cb.count
        if found:
            count += found
            changed = True
            kinds.append(kind)
    if not count:
        return Redacted(text)
    return Redacted(text, count, tuple(kinds))
