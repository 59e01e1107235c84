"""Workspace confinement and secret-path recognition.

Pure apart from resolving symlinks (``os.path.realpath``), which is the point: a path is inside
the workspace only if the file it finally names is.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "DEFAULT_SECRET_PATTERNS",
    "PathEscapeError",
    "SecretMatcher",
    "Workspace",
    "expand_user",
]

_HOME = os.path.expanduser("~")


class PathEscapeError(ValueError):
    """A path leaves the workspace (``..``, an absolute path elsewhere, a symlink pointing out)."""


def expand_user(path: str, cwd: str | None = None) -> str:
    """Expand ``~``, ``$HOME``/``${HOME}`` and ``$PWD``; other variables stay as they are."""
    if path.startswith("~"):
        if path == "~" or path.startswith("~/"):
            path = _HOME + path[1:]
        else:
            user, _, rest = path[1:].partition("/")
            path = os.path.join(os.path.dirname(_HOME), user, rest)
    if "$" in path:
        path = path.replace("${HOME}", _HOME).replace("$HOME", _HOME)
        if cwd is not None:
            path = path.replace("${PWD}", cwd).replace("$PWD", cwd)
    return path


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def _no_link_out(absolute: str, root: str, roots: tuple[str, ...]) -> bool:
    """``absolute`` lies lexically under the real folder ``root``: follow links below it only.

    Walks the components below ``root`` with ``lstat``; at the first symlink it falls back to
    ``realpath``; at the first missing component it stops (nothing below can be a link).
    """
    rest = absolute[len(root) :].lstrip("/")
    if not rest:
        return True
    current = root
    for part in rest.split("/"):
        current = current + "/" + part if current != "/" else "/" + part
        try:
            st = os.lstat(current)
        except OSError:
            return True
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(absolute)
            return any(_within(real, r) for r in roots)
    return True


class Workspace:
    """A root folder; answers whether paths stay inside it (plus any extra writable roots)."""

    __slots__ = ("extra_roots", "real_roots", "root")

    def __init__(self, root: str | os.PathLike[str], extra_roots: Iterable[str] = ()) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self.extra_roots = tuple(os.path.realpath(expand_user(r)) for r in extra_roots)
        self.real_roots = (self.root, *self.extra_roots)

    def absolute(self, path: str, cwd: str | None = None) -> str:
        """Lexically normalized absolute form of ``path`` (relative to ``cwd`` or the root)."""
        path = expand_user(path, cwd)
        if not os.path.isabs(path):
            path = os.path.join(cwd or self.root, path)
        return os.path.normpath(path)

    def contains(self, path: str, cwd: str | None = None) -> bool:
        """True if ``path`` (after symlinks) is inside the workspace or an extra writable root."""
        absolute = self.absolute(path, cwd)
        for root in self.real_roots:
            if _within(absolute, root):
                return _no_link_out(absolute, root, self.real_roots)
        # Lexically outside; it may still resolve inside (a link into the workspace).
        real = os.path.realpath(absolute)
        return any(_within(real, r) for r in self.real_roots)

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path`` inside the workspace root; raises :class:`PathEscapeError`.

        Used by the file tools: absolute paths are accepted only when they point inside.
        """
        text = os.fspath(path)
        if not text or "\x00" in text:
            raise PathEscapeError(f"invalid path {text!r}")
        absolute = self.absolute(text)
        real = os.path.realpath(absolute)
        if not _within(real, self.root):
            if _within(absolute, self.root):
                raise PathEscapeError(
                    f"{text}: a symlink inside the workspace points outside it ({real})"
                )
            raise PathEscapeError(f"{text}: path is outside the workspace {self.root}")
        return Path(real)

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the root, for messages."""
        rel = os.path.relpath(os.fspath(path), self.root)
        return "." if rel == "." else rel


# Secret files: matched on the absolute normalized path (globs with "/") or the base name.
DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    "~/.ssh/*",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    ".env",
    ".env.*",
    "*.env",
    "~/.aws/credentials",
    "~/.aws/config",
    "~/.config/gcloud/*",
    "~/.azure/*",
    "~/.kube/config",
    "~/.docker/config.json",
    "~/.git-credentials",
    "~/.gnupg/*",
    "~/.password-store/*",
    ".netrc",
    "_netrc",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    "credentials.json",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/ssh/ssh_host_*",
    "/proc/*/environ",
)
# Harmless look-alikes that match the patterns above.
_NOT_SECRET = re.compile(
    r"(?:\.(?:example|sample|template|dist|defaults?|pub)|\.env\.(?:example|sample|template))$"
)


class SecretMatcher:
    """Recognizes paths of files that hold credentials."""

    __slots__ = ("_base", "_full", "_quick")

    def __init__(self, patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS) -> None:
        full: list[str] = []
        base: list[str] = []
        for p in patterns:
            if "/" in p:
                full.append(fnmatch.translate(os.path.normpath(expand_user(p))))
            else:
                base.append(fnmatch.translate(p))
        self._full = re.compile("|".join(full)) if full else None
        self._base = re.compile("|".join(base)) if base else None
        # Cheap filter: every secret path contains one of these fragments.
        frags = {"ssh", "id_", ".pem", ".key", ".p12", ".pfx", "env", "aws", "gcloud", "azure",
                 "kube", "docker", "credential", "gnupg", "password", "netrc", "npmrc", "pypirc",
                 "pgpass", "shadow", "sudoers"}  # fmt: skip
        for p in patterns:
            if p not in DEFAULT_SECRET_PATTERNS:
                literal = [re.sub(r"[*?\[\]]+", "", seg) for seg in p.split("/")]
                literal = [seg for seg in literal if seg and seg != "~"]
                frags.add(literal[-1].lower() if literal else "/")
        self._quick = re.compile("|".join(re.escape(f) for f in sorted(frags) if f) or "(?!)")

    def is_secret(self, path: str, cwd: str | None = None) -> bool:
        """True if ``path`` names a credentials file (``~``/``$HOME`` expanded)."""
        if not self._quick.search(path.lower()):
            return False
        expanded = expand_user(path, cwd)
        if _NOT_SECRET.search(expanded):
            return False
        base = expanded.rstrip("/").rsplit("/", 1)[-1]
        if self._base is not None and self._base.match(base):
            return True
        if self._full is not None:
            absolute = os.path.normpath(os.path.join(cwd or os.getcwd(), expanded))
            if self._full.match(absolute):
                return True
            # A glob such as ~/.ssh/* also covers the folder itself.
            if self._full.match(absolute + "/x"):
                return True
        return False
