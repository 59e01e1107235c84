"""Secret redaction for tool outputs, before they reach the model.

``redact(text)`` replaces API keys, tokens, private keys, connection-string passwords, cookies and
credential assignments with ``[REDACTED:<kind>]``. Secrets are found by shape (``glpat-`` + 20
characters, a JWT, a block of base64 lines) and by context (the 40-character AWS secret next to an
``AKIA`` id, a value after ``password=``, ``Pwd=``, ``AccountKey=``, ``Cookie:``, ``curl -u``).

Speed: Python's ``re`` does not optimize an alternation of many patterns, but a pattern that
starts with a literal is found with a fast literal search. So every kind has literal hints checked
with ``in`` on the lower-cased text, and only the kinds whose hints occur run. Kinds whose pattern
starts with a case-insensitive keyword (assignments, headers) run only on the lines holding a hint,
and those hints carry their separator (``pass=``, ``pass:``, ``pwd=``...), so the ``PASSED`` of
every pytest line does not send the whole log down the slow path. See benchmarks/bench_redact.py.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["KINDS", "Redacted", "redact"]


@dataclass(frozen=True, slots=True)
class Redacted:
    """The redacted text, how many secrets were replaced, and their kinds (first-seen order)."""

    text: str
    count: int = 0
    kinds: tuple[str, ...] = ()


_Check = Callable[[str, "re.Match[str]"], bool]


@dataclass(frozen=True, slots=True)
class _Kind:
    kind: str  # the label in [REDACTED:<kind>]
    # The kind runs only if one of its hints occurs (no hints: always). A hint is a literal-led
    # regex, searched in the text as it is (``cased``) or lower-cased.
    hints: tuple[re.Pattern[str], ...]
    cased: bool
    rx: re.Pattern[str]  # a group named "v" redacts only the value, keeping its context
    per_line: bool = False  # run only on the lines where a hint occurs
    word_start: bool = False  # the match must not start inside a word ("task-" is not "sk-")
    check: _Check | None = None  # a last look at the match; False keeps it


_B64 = "A-Za-z0-9+/"
_NOT_VALUES = frozenset({"none", "null", "nil", "true", "false", "undefined", "required",
                         "optional", "string", "str", "bytes", "int", "redacted", "changeme",
                         "example", "xxxx", "****", "secret", "password", "token", "hidden",
                         "masked", "empty", "unset", "your_password", "your_token",
                         "self"})  # fmt: skip
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]*")


def _mixed(value: str) -> bool:
    """Upper and lower case and a digit or +/: generated, not a word and not a hex digest."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() or c in "+/" for c in value)
    )


def _aws_pair_ok(_text: str, m: re.Match[str]) -> bool:
    return _mixed(m.group("v"))


def _pem_body_ok(text: str, m: re.Match[str]) -> bool:
    """A block of base64 lines is a key body unless it is public or plain text encoded."""
    block = m.group("v")
    if not _mixed(block):
        return False
    before = text[max(0, m.start() - 200) : m.start()].rstrip("\n").rsplit("\n", 1)[-1]
    if before.startswith("-----BEGIN") and "PRIVATE" not in before:
        return False  # a certificate or public key
    first = block.split("\n", 1)[0]
    try:
        raw = base64.b64decode(first[: len(first) // 4 * 4])
    except (binascii.Error, ValueError):
        return True
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
    return printable < 0.9 * len(raw)  # keys are binary (DER, openssh-key-v1)


def _assignment_ok(text: str, m: re.Match[str]) -> bool:
    """Whether ``key = value`` holds a literal secret rather than code or a placeholder."""
    key = m.group("k")
    value = m.group("v")
    low = key.lower()
    if low.endswith("pass") and not (
        len(low) == 4 or low[-5] in "_-." or key.isupper()
    ):  # "bypass", "compass"
        return False
    if value.startswith(("[REDACTED", "$", "{", "<", "%", "(", "[", "*", "&", "@", "#")):
        return False
    if any(c in value for c in "()[]{}") or value.lower() in _NOT_VALUES:
        return False
    if m.group("q"):
        return True
    sep = m.group("sep")
    if _IDENT.fullmatch(value):
        if "." in value and not any(c.isdigit() for c in value):
            return False  # config.password, os.environ
        before = text[: m.start()].rstrip()
        if before.endswith(("(", ",")):
            return False  # f(password=password)
        if "=" in sep and (sep[0].isspace() or sep[-1].isspace()):
            return False  # password = other_variable
        if ":" in sep and _TYPE_NAME.fullmatch(value) and not any(c.isdigit() for c in value):
            return False  # password: SecretStr
    return True


def _curl_ok(_text: str, m: re.Match[str]) -> bool:
    value = m.group("v")
    return not value.isdigit() and not value.startswith(("$", "[REDACTED"))


def _value_ok(_text: str, m: re.Match[str]) -> bool:
    value = m.group("v")
    return not value.startswith("[REDACTED") and value.lower() not in _NOT_VALUES


def _bearer_ok(text: str, m: re.Match[str]) -> bool:
    """A header value, or a bare "Bearer <token>" long enough not to be prose."""
    value = m.group("v")
    if m.group(0)[:6].lower() == "bearer" and len(value) < 16:
        return False
    return _value_ok(text, m)


_HINTS: dict[str, re.Pattern[str]] = {}


def _k(kind: str, hints: str, pattern: str, *, cased: bool = False, **kw: object) -> _Kind:
    """A kind; ``hints`` is one regex, or several separated by " || " (each compiled once)."""
    compiled = tuple(_HINTS.setdefault(h, re.compile(h)) for h in hints.split(" || ") if h)
    return _Kind(kind, compiled, cased, re.compile(pattern), **kw)  # type: ignore[arg-type]


# A keyword right before its separator: "pass=" and '"token":' are hints, "PASSED" is not. One
# regex per keyword, each led by its literal, so ``re`` finds it with a fast literal search.
_ASSIGN = " || ".join(
    w + r"[\"']?\s*[:=]" for w in ("pass(?:word|wd|phrase)?", "pwd", "secret", "token", "key")
)
# Every hint is one pass over the text (about 0.1 ms per 200 KB), so kinds share hints: one
# regex covers AKIA, ASIA and AIza, another every GitHub prefix.
# Order matters: specific shapes first, so a GITHUB_TOKEN=ghp_... is labelled github_token and
# the assignment kind then sees a value that is already redacted.
_KINDS: tuple[_Kind, ...] = (
    _k("private_key", "PRIVATE KEY", cased=True, pattern=
       r"-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----[\s\S]*?"
       r"(?:-----END[A-Z0-9 ]{0,40} PRIVATE KEY( BLOCK)?-----|\Z)"),
    # A key body without its BEGIN line: three or more full lines of base64 (PEM 64, OpenSSH 70).
    _k("private_key", "",
       rf"\n(?P<v>(?:[{_B64}]{{60,80}}\n){{2,}}[{_B64}]{{1,80}}={{0,2}})(?=\n|\Z)",
       check=_pem_body_ok),
    _k("anthropic_key", "sk-", r"sk-ant-[A-Za-z0-9_\-]{20,}", cased=True, word_start=True),
    _k("openai_key", "sk-", r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}",
       cased=True, word_start=True),
    _k("cerebras_key", "sk-", r"csk-[A-Za-z0-9_\-]{20,}", cased=True, word_start=True),
    _k("stripe_key", r"k_(?:live|test)_ || whsec_",
       r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,}", cased=True,
       word_start=True),
    # The secret key next to its id: CSV rows, tables, "key ... secret ...", the next line or two.
    _k("aws_secret_key", r"A(?:[KS]IA|Iza)", cased=True, pattern=
       rf"(?:AKIA|ASIA)[A-Z0-9]{{16}}(?![A-Za-z0-9])[^\n]{{0,120}}?(?:\n[^\n]{{0,120}}?){{0,2}}"
       rf"(?<![{_B64}=])(?P<v>[{_B64}]{{40}})(?![{_B64}=])", check=_aws_pair_ok),
    _k("aws_access_key_id", r"A(?:[KS]IA|Iza)",
       r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])", cased=True, word_start=True),
    _k("google_api_key", r"A(?:[KS]IA|Iza)", r"AIza[0-9A-Za-z_\-]{35}", cased=True,
       word_start=True),
    _k("github_token", r"gh[pousr]_ || github_pat_",
       r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}", cased=True, word_start=True),
    _k("gitlab_token", r"gl(?:pat|rt|dt|ptt)-", r"gl(?:pat|rt|dt|ptt)-[A-Za-z0-9_\-]{20,}",
       cased=True, word_start=True),
    _k("slack_token", r"x(?:ox[abposr]|app)-",
       r"xox[abposr]-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,}", cased=True,
       word_start=True),
    _k("slack_webhook", "://",
       r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{8,}", cased=True),
    _k("discord_webhook", "://", r"/api/webhooks/[0-9]{6,}/[A-Za-z0-9_\-]{20,}", cased=True),
    _k("google_oauth", r"GOCSPX- || ya29\. || 1//0",
       r"GOCSPX-[A-Za-z0-9_\-]{20,}|ya29\.[A-Za-z0-9_\-]{20,}|1//0[A-Za-z0-9_\-]{30,}",
       cased=True, word_start=True),
    _k("sendgrid_key", r"SG\.", r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,64}", cased=True,
       word_start=True),
    _k("npm_token", "npm_", r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])", cased=True, word_start=True),
    _k("pypi_token", "pypi-AgE", r"pypi-AgE[A-Za-z0-9_\-]{50,}", cased=True, word_start=True),
    _k("huggingface_token", "hf_", r"hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])", cased=True,
       word_start=True),
    _k("jwt", "eyJ", r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
       cased=True, word_start=True),
    # scheme://user:password@host, also with an empty user (redis://:pw@host).
    _k("url_password", "://", r"://[^\s:/@]*:(?P<v>[^\s@/]{3,})@", cased=True),
    # Below: case-insensitive keywords, run on the lines holding a hint only.
    _k("aws_secret_key", _ASSIGN.split(" || ", 2)[2],
       r"(?i:(?:aws_?)?secret_?(?:access_?)?key)[\"']?\s*[:=]\s*[\"']?"
       rf"(?P<v>[{_B64}]{{40}})(?![{_B64}=])", per_line=True),
    _k("bearer_token", "authorization || bearer",
       r"(?i:(?:authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|token|basic|digest)|\bbearer)\s+)"
       r"(?P<v>[A-Za-z0-9._~+/=\-]{8,})", per_line=True, check=_bearer_ok),
    _k("cookie", r"cookie\s*:",
       r"(?i:\b(?:set-)?cookie\s*:\s*)(?P<v>[^\s\"'][^\r\n\"']*)", per_line=True,
       check=_value_ok),
    _k("basic_auth", "curl",
       r"(?<!\S)(?:-u|--user|--http-user|--proxy-user)(?:\s+|=)[\"']?[^\s:\"']+:"
       r"(?P<v>[^\s\"']{3,})", per_line=True, check=_curl_ok),
    # KEY=value, key: value, "key": "value", Password=...; in connection strings (SQL Server,
    # ODBC Pwd=, Azure AccountKey=).
    _k("assignment", _ASSIGN,
       r"(?<![A-Za-z0-9_.\-])(?P<k>(?i:[A-Za-z0-9_.\-]*?(?:password|passwd|passphrase|pass|pwd|secret|token"
       r"|(?:api|access|secret|private|account|auth|shared[_-]?access|encryption|signing|master"
       r"|client|app|license)[_-]?key|apikey)))"
       r"[\"']?(?P<sep>\s*[:=](?!=)\s*)(?P<q>[\"']?)"
       r"(?P<v>(?<=[\"'])[^\"'\n]{4,}(?=[\"'])|[^\s\"'`,;]{4,})"
       r"(?P=q)", per_line=True, check=_assignment_ok),
)  # fmt: skip

KINDS: tuple[str, ...] = tuple(dict.fromkeys(k.kind for k in _KINDS))

# Whole-text kinds first (in table order), then the per-line ones, which need line positions.
_ORDER = tuple(k for k in _KINDS if not k.per_line) + tuple(k for k in _KINDS if k.per_line)


class _Pass:
    """Replacement callback for one kind, counting what it replaced."""

    __slots__ = ("count", "kind", "src", "tag", "vgroup")

    def __init__(self, kind: _Kind, src: str) -> None:
        self.kind = kind
        self.src = src
        self.count = 0
        self.tag = f"[REDACTED:{kind.kind}]"
        self.vgroup = "v" in kind.rx.groupindex

    def __call__(self, m: re.Match[str]) -> str:
        src = self.src
        start = m.start()
        kind = self.kind
        if kind.word_start and start and (src[start - 1].isalnum() or src[start - 1] == "_"):
            return m.group(0)
        if kind.check is not None and not kind.check(src, m):
            return m.group(0)
        self.count += 1
        if not self.vgroup:
            return self.tag
        return src[start : m.start("v")] + self.tag + src[m.end("v") : m.end()]


def _line_spans(text: str, positions: list[int]) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans of the lines of ``text`` holding these positions."""
    spans: list[tuple[int, int]] = []
    end = -1
    for pos in sorted(positions):
        if pos <= end:
            continue
        a = text.rfind("\n", 0, pos) + 1
        b = text.find("\n", pos)
        end = len(text) if b < 0 else b
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((a, end))
    return spans


def _sub_lines(kind: _Kind, text: str, positions: list[int]) -> tuple[str, int]:
    parts: list[str] = []
    last = 0
    found = 0
    for a, b in _line_spans(text, positions):
        seg = text[a:b]
        cb = _Pass(kind, seg)
        new = kind.rx.sub(cb, seg)
        if cb.count:
            parts.append(text[last:a])
            parts.append(new)
            last = b
            found += cb.count
    if not found:
        return text, 0
    parts.append(text[last:])
    return "".join(parts), found


def _present(kind: _Kind, text: str, lower: str, memo: dict[re.Pattern[str], int]) -> bool:
    """Whether one of the kind's hints occurs (each hint searched once per call)."""
    where = text if kind.cased else lower
    for hint in kind.hints:
        seen = memo.get(hint)
        if seen is None:
            m = hint.search(where)
            seen = memo[hint] = -1 if m is None else m.start()
        if seen >= 0:
            return True
    return False


def _positions(kind: _Kind, text: str, memo: dict[re.Pattern[str], int]) -> list[int]:
    """Where the kind's hints occur in ``text`` (lower-cased unless the kind is cased); the
    search starts where ``_present`` found the first hit, when it looked at this same text."""
    found: list[int] = []
    for hint in kind.hints:
        first = memo.get(hint, 0) if memo else 0
        if first >= 0:
            found.extend(m.start() for m in hint.finditer(text, first))
    return found


def redact(text: str) -> Redacted:
    """Replace secrets in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return Redacted(text)
    original = text
    lower = text.lower()
    memo: dict[re.Pattern[str], int] = {}  # hint -> where it first occurs, -1: nowhere
    kinds: list[str] = []
    count = 0
    for kind in _ORDER:
        # Hints are looked for in the text as it came: a replacement only removes text, and a
        # kind run when its hint has been redacted away just finds nothing.
        if kind.hints and not _present(kind, original, lower, memo):
            continue
        if kind.per_line:
            if text is original:
                positions = _positions(kind, text if kind.cased else lower, memo)
            else:  # earlier kinds replaced text: positions moved
                positions = _positions(kind, text if kind.cased else text.lower(), {})
            text, found = _sub_lines(kind, text, positions)
        elif not kind.hints:  # the base64 block, led by a line break
            cb = _Pass(kind, "\n" + text)
            new = kind.rx.sub(cb, cb.src)
            found = cb.count
            if found:
                text = new[1:]
        else:
            cb = _Pass(kind, text)
            text = kind.rx.sub(cb, text)
            found = cb.count
        if found:
            count += found
            if kind.kind not in kinds:
                kinds.append(kind.kind)
    if not count:
        return Redacted(text)
    return Redacted(text, count, tuple(kinds))
