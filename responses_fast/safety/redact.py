"""Secret redaction for tool outputs, before they reach the model.

``redact(text)`` replaces API keys, tokens, private keys and credential assignments with
``[REDACTED:<kind>]``. One compiled alternation does the work; a cheap substring pre-check lets
clean text (the common case) through almost for free.
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


# (kind, pattern). A pattern with a group named "<kind>_v" redacts only that group (the value),
# keeping its context ("aws_secret_access_key = ").
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----[\s\S]*?"
                    r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----|\Z)"),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
    ("cerebras_key", r"\bcsk-[A-Za-z0-9_\-]{20,}"),
    ("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    ("aws_secret_key", r"(?i:aws_?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?"
                       r"(?P<aws_secret_key_v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("slack_token", r"\bxox[bpars]-[A-Za-z0-9\-]{10,}"),
    ("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("bearer_token", r"(?i:authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|token|basic)\s+)"
                     r"(?P<bearer_token_v>[A-Za-z0-9._~+/=\-]{8,})"),
    ("url_password", r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:(?P<url_password_v>[^\s@/]{3,})@"),
    ("assignment", r"(?<![A-Za-z0-9])(?P<assignment_k>[A-Za-z0-9_.\-]*(?i:password|passwd|secret"
                   r"|api[_-]?key|apikey|access[_-]?key|auth[_-]?token|token)[A-Za-z0-9_]*)"
                   r"[\"']?\s*[:=]\s*(?P<assignment_q>[\"']?)"
                   r"(?P<assignment_v>(?<=[\"'])[^\"'\n]{4,}(?=[\"'])|[^\s\"'`,;]{4,})"
                   r"(?P=assignment_q)"),
)  # fmt: skip

KINDS: tuple[str, ...] = tuple(k for k, _ in _PATTERNS)
_RE = re.compile("|".join(f"(?P<{kind}>{pat})" for kind, pat in _PATTERNS))
_VALUE_GROUP = {kind: f"{kind}_v" for kind, pat in _PATTERNS if f"?P<{kind}_v>" in pat}
# Every pattern's match contains one of these (lower-cased text).
_HINTS = ("sk-", "sk_", "rk_", "akia", "asia", "abia", "acca", "gh", "github_pat_", "xox", "aiza",
          "eyj", "private key", "authorization", "://", "password", "passwd", "secret", "key",
          "token")  # fmt: skip
_NOT_VALUES = frozenset({"none", "null", "true", "false", "undefined", "required", "optional",
                         "string", "redacted", "changeme", "example", "xxxx", "****"})  # fmt: skip


def _assignment_ok(m: re.Match[str]) -> bool:
    """Whether an assignment-looking match is worth redacting (a literal, not code)."""
    value = m.group("assignment_v")
    if value.startswith(("[REDACTED", "$", "{", "<", "%", "(", "[", "*")) or "(" in value:
        return False
    if value.lower() in _NOT_VALUES:
        return False
    if m.group("assignment_q"):
        return len(value) >= 6
    key = m.group("assignment_k")
    # Env/config style (API_KEY=...) or a value that looks generated (has a digit).
    return key.isupper() or any(c.isdigit() for c in value)


def redact(text: str) -> Redacted:
    """Replace secrets in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return Redacted(text)
    lower = text.lower()
    for hint in _HINTS:
        if hint in lower:
            break
    else:
        return Redacted(text)
    kinds: list[str] = []
    count = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal count
        kind = m.lastgroup
        assert kind is not None
        if kind.endswith(("_v", "_k", "_q")):  # pragma: no cover - lastgroup is the outer group
            kind = kind.rsplit("_", 1)[0]
        if kind == "assignment" and not _assignment_ok(m):
            return m.group(0)
        count += 1
        if kind not in kinds:
            kinds.append(kind)
        vgroup = _VALUE_GROUP.get(kind)
        if vgroup is None:
            return f"[REDACTED:{kind}]"
        start = m.start()
        return text[start : m.start(vgroup)] + f"[REDACTED:{kind}]" + text[m.end(vgroup) : m.end()]

    out = _RE.sub(repl, text)
    if not count:
        return Redacted(text)
    return Redacted(out, count, tuple(kinds))
