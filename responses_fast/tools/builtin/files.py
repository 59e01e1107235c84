"""``read_file``, ``list_files`` and ``search_files``, confined to the workspace."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path

from responses_fast.safety.paths import Workspace
from responses_fast.safety.redact import redact

__all__ = [
    "LIST_FILES_DESCRIPTION",
    "READ_FILE_DESCRIPTION",
    "SEARCH_FILES_DESCRIPTION",
    "SKIP_DIRS",
    "list_files",
    "read_file",
    "search_files",
]

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


def _is_binary(path: Path) -> bool:
    with path.open("rb") as f:
        return b"\x00" in f.read(8192)


def read_file(
    ws: Workspace,
    path: str,
    start_line: int = 1,
    end_line: int | None = None,
    *,
    max_output_bytes: int,
) -> str:
    """Numbered lines ``start_line..end_line`` (1-based, inclusive) of a workspace file."""
    real = ws.resolve(path)
    if not real.exists():
        raise FileNotFoundError(f"{path}: no such file in the workspace")
    if real.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; use list_files")
    size = real.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"{path}: file is too large ({size} bytes, limit {MAX_FILE_BYTES});"
            " use search_files or shell (head, sed -n) to read parts"
        )
    if _is_binary(real):
        raise ValueError(f"{path}: is a binary file ({size} bytes); not shown")
    if start_line < 1:
        raise ValueError("start_line must be 1 or more")
    if end_line is not None and end_line < start_line:
        raise ValueError("end_line must be at least start_line")
    text = real.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
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


def _walk(ws: Workspace, root: Path, max_depth: int | None) -> list[tuple[Path, bool, int]]:
    """(path, is_dir, depth) under ``root``, sorted, skipping SKIP_DIRS and links that leave."""
    found: list[tuple[Path, bool, int]] = []

    def visit(folder: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            p = Path(e.path)
            if e.is_symlink() and not ws.contains(e.path):
                continue
            is_dir = e.is_dir()
            if is_dir and e.name in SKIP_DIRS:
                continue
            found.append((p, is_dir, depth))
            if is_dir and (max_depth is None or depth < max_depth) and not e.is_symlink():
                visit(p, depth + 1)

    visit(root, 1)
    return found


def list_files(ws: Workspace, path: str = ".", max_depth: int = 3, limit: int = 500) -> str:
    """Entries under ``path``, folders with a trailing '/', indented by depth."""
    root = ws.resolve(path)
    if not root.is_dir():
        if root.exists():
            return ws.relative(root)
        raise FileNotFoundError(f"{path}: no such folder in the workspace")
    entries = _walk(ws, root, max(1, max_depth))
    out = []
    for p, is_dir, _depth in entries[:limit]:
        rel = os.path.relpath(p, root)
        out.append(rel + "/" if is_dir else rel)
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
    """``file:line: text`` for each line under ``path`` matching the regex ``pattern``."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    root = ws.resolve(path)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = [p for p, is_dir, _ in _walk(ws, root, None) if not is_dir]
    else:
        raise FileNotFoundError(f"{path}: no such file or folder in the workspace")
    out: list[str] = []
    used = 0
    hits = 0
    capped = False
    for f in files:
        rel = ws.relative(f)
        if glob and not (fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(f.name, glob)):
            continue
        try:
            if f.stat().st_size > MAX_FILE_BYTES or _is_binary(f):
                continue
            with f.open(encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    if rx.search(line):
                        text = line.rstrip("\n")
                        if len(text) > 300:
                            text = text[:300] + "..."
                        row = f"{rel}:{n}: {text}"
                        hits += 1
                        used += len(row) + 1
                        if hits > limit or used > max_output_bytes:
                            capped = True
                            break
                        out.append(row)
        except OSError:
            continue
        if capped:
            break
    if not out:
        return f"no matches for {pattern!r} under {path}"
    if capped:
        out.append(f"[results capped at {len(out)} matches; narrow the pattern, path or glob]")
    return redact("\n".join(out)).text
