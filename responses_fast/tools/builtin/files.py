"""``read_file``, ``list_files`` and ``search_files``, confined to the workspace.

Every path is opened through directory descriptors from the workspace root
(:mod:`.confined_fs`), so a folder swapped for a symlink between a check and an open cannot lead
outside.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat

from responses_fast.safety.paths import PathEscapeError, Workspace
from responses_fast.safety.redact import redact

from .confined_fs import WorkspaceFS, read_fd

__all__ = [
    "LIST_FILES_DESCRIPTION",
    "READ_FILE_DESCRIPTION",
    "SEARCH_FILES_DESCRIPTION",
    "SKIP_DIRS",
    "file_lines",
    "list_files",
    "read_file",
    "search_files",
]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

SKIP_DIRS = frozenset(
    {".git", "__pycache__", "node_modules", ".venv", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", ".tox", ".hg", ".svn", ".eggs"}
)  # fmt: skip
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_LINE_CHARS = 2000

READ_FILE_DESCRIPTION = """\
Read a text file in the workspace. Returns its lines numbered from 1 ("     12\\tcode"), so you \
can quote exact context in apply_patch (do not copy the numbers). Use start_line/end_line for \
large files; the output says when it was truncated and how to continue. Binary files are refused."""

LIST_FILES_DESCRIPTION = """\
List files and folders under a path in the workspace (folders end with '/'), sorted, down to \
max_depth levels, at most `limit` entries. Skips .git, __pycache__, node_modules and similar."""

SEARCH_FILES_DESCRIPTION = """\
Search file contents under a path with a Python regular expression. Returns matches as \
`path:line: text`, capped at `limit`. Narrow with `glob` (e.g. "*.py" or "src/**/*.ts"). \
Skips binary files and .git, __pycache__, node_modules."""


def file_lines(text: str) -> list[str]:
    """Lines as apply_patch sees them: split on ``\\n``, one trailing ``\\r`` dropped from each.

    Other characters ``str.splitlines`` treats as breaks (U+2028, form feed, a lone ``\\r``...)
    stay inside their line, so the numbers shown are the ones ``sed -n`` and apply_patch use.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    return lines


def _read_text(fs: WorkspaceFS, path: str) -> tuple[str, str]:
    """The text of a workspace file and its canonical name (binary and huge files refused)."""
    fd, st, shown = fs.open_file(path)
    try:
        if st.st_size > MAX_FILE_BYTES:
            raise ValueError(
                f"{path}: file is too large ({st.st_size} bytes, limit {MAX_FILE_BYTES});"
                " use search_files or shell (head, sed -n) to read parts"
            )
        data = read_fd(fd, st.st_size)
    finally:
        os.close(fd)
    if b"\x00" in data[:8192]:
        raise ValueError(f"{path}: is a binary file ({st.st_size} bytes); not shown")
    return data.decode("utf-8", errors="replace"), shown


def read_file(
    ws: Workspace,
    path: str,
    start_line: int = 1,
    end_line: int | None = None,
    *,
    max_output_bytes: int,
) -> str:
    """Numbered lines ``start_line..end_line`` (1-based, inclusive) of a workspace file.

    The file is opened through descriptors (see :mod:`.confined_fs`): never outside the
    workspace, whatever is swapped in meanwhile; files with several hard links are refused.
    """
    if start_line < 1:
        raise ValueError("start_line must be 1 or more")
    if end_line is not None and end_line < start_line:
        raise ValueError("end_line must be at least start_line")
    try:
        text, _ = _read_text(WorkspaceFS(ws.root), path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file in the workspace") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{path}: is a directory; use list_files") from None
    lines = file_lines(text)
    total = len(lines)
    if total == 0:
        return f"{path}: (empty file)"
    if start_line > total:
        raise ValueError(f"{path}: start_line {start_line} is past the end ({total} lines)")
    stop = total if end_line is None else min(end_line, total)
    out: list[str] = []
    used = 0
    last = start_line - 1
    for n in range(start_line, stop + 1):
        line = lines[n - 1]
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f"... [{len(line) - MAX_LINE_CHARS} chars cut]"
        row = f"{n:6}\t{line}"
        used += len(row.encode("utf-8", "replace")) + 1
        if used > max_output_bytes and out:
            break
        out.append(row)
        last = n
    body = "\n".join(out)
    if last < stop:
        body += (
            f"\n[truncated: showed lines {start_line}-{last} of {total};"
            f" continue with start_line={last + 1}]"
        )
    elif stop < total:
        body += f"\n[lines {start_line}-{stop} of {total}]"
    return redact(body).text


def _walk(fs: WorkspaceFS, dir_fd: int, base: str, max_depth: int | None) -> list[tuple[str, bool]]:
    """(path relative to ``base``, is_dir) under the open folder ``dir_fd``, sorted.

    Listed through descriptors: each subfolder is opened ``O_NOFOLLOW`` from its parent's
    descriptor. Symlinks are shown only when they resolve inside the workspace, never descended.
    Skips SKIP_DIRS.
    """
    found: list[tuple[str, bool]] = []

    def visit(fd: int, prefix: str, depth: int) -> None:
        try:
            with os.scandir(fd) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            rel = prefix + e.name
            if e.is_symlink():
                try:
                    loc = fs.locate(f"{base}/{rel}" if base else rel)
                except (OSError, PathEscapeError):
                    continue  # leads outside, dangling or a loop
                loc.close()
                is_dir = loc.st is not None and stat.S_ISDIR(loc.st.st_mode)
                found.append((rel, is_dir))
                continue
            is_dir = e.is_dir(follow_symlinks=False)
            if is_dir and e.name in SKIP_DIRS:
                continue
            found.append((rel, is_dir))
            if is_dir and (max_depth is None or depth < max_depth):
                try:
                    sub = os.open(e.name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    continue  # swapped for a link or removed meanwhile
                try:
                    visit(sub, rel + "/", depth + 1)
                finally:
                    os.close(sub)

    visit(dir_fd, "", 1)
    return found


def list_files(ws: Workspace, path: str = ".", max_depth: int = 3, limit: int = 500) -> str:
    """Entries under ``path``, folders with a trailing '/', indented by depth."""
    fs = WorkspaceFS(ws.root)
    loc = fs.locate(path)
    loc.close()
    if loc.st is None:
        raise FileNotFoundError(f"{path}: no such folder in the workspace")
    if not stat.S_ISDIR(loc.st.st_mode):
        return loc.shown
    fd, base = fs.open_dir(path)
    try:
        entries = _walk(fs, fd, "" if base == "." else base, max(1, max_depth))
    finally:
        os.close(fd)
    out = [rel + "/" if is_dir else rel for rel, is_dir in entries[:limit]]
    if not out:
        return f"{path}: (empty)"
    if len(entries) > limit:
        out.append(f"[{len(entries) - limit} more entries not shown; raise limit or narrow path]")
    return "\n".join(out)


def search_files(
    ws: Workspace,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    limit: int = 200,
    *,
    max_output_bytes: int,
) -> str:
    """``file:line: text`` for each line under ``path`` matching the regex ``pattern``.

    Every file is opened through descriptors from the workspace root; binary files, files over
    10 MB and files with several hard links are skipped.
    """
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    fs = WorkspaceFS(ws.root)
    loc = fs.locate(path)
    loc.close()
    if loc.st is None:
        raise FileNotFoundError(f"{path}: no such file or folder in the workspace")
    if stat.S_ISDIR(loc.st.st_mode):
        fd, base = fs.open_dir(path)
        try:
            prefix = "" if base == "." else base + "/"
            files = [prefix + rel for rel, is_dir in _walk(fs, fd, prefix[:-1], None) if not is_dir]
        finally:
            os.close(fd)
    else:
        files = [loc.shown]
    out: list[str] = []
    used = 0
    hits = 0
    capped = False
    for rel in files:
        name = rel.rsplit("/", 1)[-1]
        if glob and not (fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(name, glob)):
            continue
        try:
            text, _ = _read_text(fs, rel)
        except (OSError, ValueError):
            continue  # binary, too large, hard-linked, gone or swapped for a link meanwhile
        for n, line in enumerate(file_lines(text), 1):
            if rx.search(line):
                if len(line) > 300:
                    line = line[:300] + "..."
                row = f"{rel}:{n}: {line}"
                hits += 1
                used += len(row) + 1
                if hits > limit or used > max_output_bytes:
                    capped = True
                    break
                out.append(row)
        if capped:
            break
    if not out:
        return f"no matches for {pattern!r} under {path}"
    if capped:
        out.append(f"[results capped at {len(out)} matches; narrow the pattern, path or glob]")
    return redact("\n".join(out)).text
