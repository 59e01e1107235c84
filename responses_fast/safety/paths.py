"""Workspace confinement and secret-path recognition.

Pure apart from looking at symlinks (``lstat``/``readlink``), which is the point: a path is inside
the workspace only if the file it finally names is, resolved the way the kernel resolves it.
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


# Linux gives up after 40 links in one lookup (ELOOP); so do we.
_MAX_LINKS = 40


def _physical(path: str, start: str) -> str | None:
    """``path`` (absolute, not normalized) resolved as the kernel resolves it; None on a loop.

    ``start`` is a real folder (no links in it) that is a lexical prefix of ``path``, so only the
    components below it are looked at. Each component is ``lstat``-ed in turn; a symlink's target
    replaces it (an absolute target restarts from "/"), and ``..`` goes to the parent of what has
    been *resolved so far*: ``l/../x`` with ``l -> ../outside`` is ``<ws>/../x``, not ``<ws>/x``,
    which is what ``open`` and ``rm`` do. From the first missing component on, the rest is
    normalized lexically (nothing below a missing folder can be a link).
    """
    resolved = start
    todo = path[len(start) :].split("/")
    todo.reverse()
    links = 0
    while todo:
        name = todo.pop()
        if not name or name == ".":
            continue
        if name == "..":
            resolved = os.path.dirname(resolved)
            continue
        candidate = "/" + name if resolved == "/" else resolved + "/" + name
        try:
            st = os.lstat(candidate)
        except (OSError, ValueError):
            todo.reverse()
            return os.path.normpath("/".join([candidate, *todo]))
        if not stat.S_ISLNK(st.st_mode):
            resolved = candidate
            continue
        links += 1
        if links > _MAX_LINKS:
            return None
        try:
            target = os.readlink(candidate)
        except OSError:
            return None
        if target.startswith("/"):
            resolved = "/"
        todo.extend(reversed(target.split("/")))
    return resolved


class Workspace:
    """A root folder; answers whether paths stay inside it (plus any extra writable roots).

    Paths are resolved the way the kernel resolves them (see :meth:`absolute`), so a link inside
    the workspace that points out (``l -> ../outside``) cannot hide a write as ``l/../victim``.
    """

    __slots__ = ("extra_roots", "real_roots", "root")

    def __init__(self, root: str | os.PathLike[str], extra_roots: Iterable[str] = ()) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self.extra_roots = tuple(os.path.realpath(expand_user(r)) for r in extra_roots)
        self.real_roots = (self.root, *self.extra_roots)

    def joined(self, path: str, cwd: str | None = None) -> str:
        """``path`` made absolute (``~``/``$HOME`` expanded, relative to ``cwd`` or the root),
        without any normalization: ``a/../b`` is kept as it is."""
        path = expand_user(path, cwd)
        if not path.startswith("/"):
            base = cwd or self.root
            path = base + path if base.endswith("/") else base + "/" + path
        return path

    def lexical(self, path: str, cwd: str | None = None) -> str:
        """The lexically normalized absolute form (``..`` removed without looking at links)."""
        return os.path.normpath(self.joined(path, cwd))

    def physical(self, path: str, cwd: str | None = None) -> str | None:
        """The real path ``path`` names, resolved component by component like the kernel
        (every symlink followed, the last one too); None for a link loop or a NUL byte."""
        if "\x00" in path:
            return None
        joined = self.joined(path, cwd)
        start = "/"
        for root in self.real_roots:
            if joined == root or joined.startswith(root + "/"):
                start = root
                break
        return _physical(joined, start)

    def absolute(self, path: str, cwd: str | None = None) -> str:
        """The absolute path ``path`` names after symlinks, resolved like the kernel does.

        ``..`` applies to what a link resolved to, not to the text before it. For a link loop or
        a NUL byte (nothing the kernel would open) the lexical form is returned.
        """
        real = self.physical(path, cwd)
        return real if real is not None else self.lexical(path.replace("\x00", ""), cwd)

    def contains(self, path: str, cwd: str | None = None) -> bool:
        """True if ``path`` (after symlinks, like the kernel) is inside the workspace or an extra
        writable root. A link loop or a NUL byte counts as outside."""
        real = self.physical(path, cwd)
        return real is not None and any(_within(real, r) for r in self.real_roots)

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path`` inside the workspace root; raises :class:`PathEscapeError`.

        Absolute paths are accepted only when they point inside. Checking a path and opening it
        later is racy; the file tools open through descriptors instead
        (``responses_fast.tools.builtin.confined``).
        """
        text = os.fspath(path)
        if not text or "\x00" in text:
            raise PathEscapeError(f"invalid path {text!r}")
        real = self.physical(text)
        if real is None:
            raise PathEscapeError(f"{text}: too many levels of symbolic links")
        if not _within(real, self.root):
            if _within(self.lexical(text), self.root):
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
