"""The environment a command gets, and redaction of the parent's secrets by value.

``EnvironmentPolicy`` plays the part of Codex's ``shell_environment_policy``: commands inherit a
short allow-list of variables (``inherit="core"``, the default), never a variable whose name looks
secret (``*KEY*``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``, ...), whatever the inherit mode.
Scrubbing by name is not enough on its own: a secret can reach an output through a file, a
config or a variable named innocently. ``ValueRedactor`` therefore replaces the *values* of the
parent's secret-looking variables wherever they appear in a tool's output, raw, in base64 (any
alignment, line-wrapped as ``base64`` prints it), base64url, and hex.

Pure: functions take the environment as a mapping; nothing here reads files or sockets.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CORE_VARIABLES",
    "DEFAULT_SECRET_NAME_PATTERNS",
    "EnvironmentPolicy",
    "ValueRedactor",
    "is_secret_name",
    "scrub_environment",
    "secret_values",
    "value_redactor",
]

Inherit = Literal["all", "core", "none"]

#: Variables a command inherits with ``inherit="core"`` (glob patterns, matched case-sensitively).
CORE_VARIABLES: tuple[str, ...] = (
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "JAVA_HOME",
    "GOPATH",
    "GOROOT",
    "CARGO_HOME",
    "RUSTUP_HOME",
)

#: Names that look secret (glob patterns, case-insensitive). Never inherited unless the policy
#: says ``ignore_default_excludes``; their values are what ``ValueRedactor`` hides.
DEFAULT_SECRET_NAME_PATTERNS: tuple[str, ...] = (
    "*KEY*",
    "*SECRET*",
    "*TOKEN*",
    "*PASSWORD*",
    "*PASSWD*",
    "*PASSPHRASE*",
    "*_PASS",
    "*_PWD",
    "*CREDENTIAL*",
    "*AUTH*",
    "*COOKIE*",
    "*PRIVATE*",
    "*_PAT",
    "*_PAT_*",
    "*DSN*",
    "*DATABASE_URL*",
    "*CONNECTION_STRING*",
)


def _compile_globs(patterns: Iterable[str], *, ignore_case: bool) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(p) for p in patterns]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE if ignore_case else 0)


_SECRET_NAME = _compile_globs(DEFAULT_SECRET_NAME_PATTERNS, ignore_case=True)
_CORE = _compile_globs(CORE_VARIABLES, ignore_case=False)


def is_secret_name(name: str) -> bool:
    """Whether a variable name looks like it holds a secret (``OPENAI_API_KEY``, ``DB_PASS``...)."""
    return _SECRET_NAME is not None and _SECRET_NAME.match(name) is not None


@dataclass(frozen=True, slots=True)
class EnvironmentPolicy:
    """Which variables a command sees.

    Applied in order: ``inherit`` (``all`` the parent's variables, ``core`` only
    :data:`CORE_VARIABLES`, ``none`` nothing); the default secret-name excludes (unless
    ``ignore_default_excludes``); ``exclude`` (globs, case-insensitive); ``include_only`` (globs,
    case-insensitive; empty = no filter); finally ``set`` (explicit values, always kept).
    """

    inherit: Inherit = "core"
    ignore_default_excludes: bool = False
    exclude: tuple[str, ...] = ()
    include_only: tuple[str, ...] = ()
    set: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.inherit not in ("all", "core", "none"):
            raise ValueError(f"inherit must be 'all', 'core' or 'none', not {self.inherit!r}")
        for name, value in self.set.items():
            if not isinstance(name, str) or not isinstance(value, str) or not name:
                raise ValueError("EnvironmentPolicy.set maps non-empty names to string values")
            if "=" in name or "\0" in name or "\0" in value:
                raise ValueError(f"invalid environment variable {name!r}")

    def __repr__(self) -> str:  # never show the values of ``set``: they may be secrets
        return (
            f"EnvironmentPolicy(inherit={self.inherit!r}, exclude={self.exclude!r}, "
            f"include_only={self.include_only!r}, set=<{len(self.set)} names>)"
        )

    def apply(self, environ: Mapping[str, str]) -> dict[str, str]:
        """The environment for a command, from the parent's ``environ``."""
        if self.inherit == "none":
            env: dict[str, str] = {}
        elif self.inherit == "core":
            env = {k: v for k, v in environ.items() if _CORE is not None and _CORE.match(k)}
        else:
            env = dict(environ)
        drops = [] if self.ignore_default_excludes else [_SECRET_NAME]
        drops.append(_compile_globs(self.exclude, ignore_case=True))
        for rx in drops:
            if rx is not None:
                env = {k: v for k, v in env.items() if not rx.match(k)}
        keep = _compile_globs(self.include_only, ignore_case=True)
        if keep is not None:
            env = {k: v for k, v in env.items() if keep.match(k)}
        env.update(self.set)
        return env


def scrub_environment(
    environ: Mapping[str, str], policy: EnvironmentPolicy | None = None
) -> dict[str, str]:
    """``(policy or EnvironmentPolicy()).apply(environ)``."""
    return (policy or EnvironmentPolicy()).apply(environ)


# Values shorter than this are not redacted: "1", "true" or a port would blank half an output.
_MIN_SECRET_LEN = 8


def secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values of ``environ``'s secret-looking variables worth redacting (sorted, unique)."""
    return tuple(
        sorted(
            {
                v
                for k, v in environ.items()
                if len(v.strip()) >= _MIN_SECRET_LEN and is_secret_name(k)
            }
        )
    )


def _b64_cores(raw: bytes, alphabet: Literal["std", "url"]) -> list[str]:
    """The base64 text that ``raw`` produces at each of the 3 alignments inside a longer stream.

    Only the characters fully determined by ``raw`` are kept (the first and last characters of
    an embedded encoding also depend on the neighbouring bytes).
    """
    out = []
    enc = base64.b64encode if alphabet == "std" else base64.urlsafe_b64encode
    for shift in range(3):
        text = enc(b"\0" * shift + raw).decode()
        start = (shift * 4 + 2) // 3  # chars touched by the padding bytes
        end = ((shift + len(raw)) * 4) // 3  # chars fully inside raw
        core = text[start:end]
        if len(core) >= _MIN_SECRET_LEN:
            out.append(core)
    return out


def _needles(value: str) -> tuple[list[str], list[str]]:
    """(literal forms, forms that tools print line-wrapped) of one secret value."""
    raw = value.encode()
    wrapped = _b64_cores(raw, "std") + _b64_cores(raw, "url") + [raw.hex(), raw.hex().upper()]
    return [value], sorted(set(wrapped) - {value})


_WRAP = "(?:\\r?\\n)?"


class ValueRedactor:
    """Replaces known secret values (and their encodings) in text with ``[REDACTED:env]``.

    The common case, text holding none of them, costs one substring search per needle on the
    text and on the text without line breaks (about a millisecond for 200 KB and a few secrets);
    a regex pass runs only for the forms found.
    """

    __slots__ = ("_all", "_literal", "_plain", "_wrapped", "_wrapped_rx")

    REPLACEMENT = "[REDACTED:env]"

    def __init__(self, values: Iterable[str]) -> None:
        literal: set[str] = set()
        wrapped: set[str] = set()
        for v in values:
            if len(v.strip()) < _MIN_SECRET_LEN:
                continue
            lit, wr = _needles(v)
            literal.update(lit)
            wrapped.update(wr)
        # Longest first, so a longer form wins over a shorter one it contains.
        self._literal = tuple(sorted(literal, key=len, reverse=True))
        self._wrapped = tuple(sorted(wrapped, key=len, reverse=True))
        self._all = tuple(sorted(literal | wrapped, key=len, reverse=True))
        self._plain = re.compile("|".join(map(re.escape, self._all))) if self._all else None
        self._wrapped_rx = (
            re.compile("|".join(_WRAP.join(map(re.escape, s)) for s in self._wrapped))
            if self._wrapped
            else None
        )

    def __repr__(self) -> str:
        return f"ValueRedactor(<{len(self._literal)} secret values>)"

    def __bool__(self) -> bool:
        return self._plain is not None

    def _flat_hit(self, text: str) -> bool:
        if "\n" not in text:
            return False
        flat = text.replace("\r", "").replace("\n", "")
        return any(s in flat for s in self._wrapped)

    def might_contain(self, text: str) -> bool:
        return any(s in text for s in self._all) or self._flat_hit(text)

    def redact(self, text: str) -> str:
        if self._plain is None:
            return text
        if any(s in text for s in self._all):
            text = self._plain.sub(self.REPLACEMENT, text)
        if self._wrapped_rx is not None and self._flat_hit(text):
            # A form split by line breaks (base64 wrapped at 76 columns, xxd -p at 60).
            text = self._wrapped_rx.sub(self.REPLACEMENT, text)
        return text


@functools.lru_cache(maxsize=8)
def _redactor_for(values: tuple[str, ...]) -> ValueRedactor:
    return ValueRedactor(values)


def value_redactor(environ: Mapping[str, str]) -> ValueRedactor:
    """The redactor for ``environ``'s secret values (cached per set of values)."""
    return _redactor_for(secret_values(environ))
