"""``apply_patch``: the file-oriented patch envelope Codex models emit, applied atomically.

Grammar (as in openai/codex ``apply-patch``)::

    Patch      := "*** Begin Patch" NL { FileOp } "*** End Patch" NL?
    FileOp     := AddFile | DeleteFile | UpdateFile
    AddFile    := "*** Add File: " path NL { "+" line NL }
    DeleteFile := "*** Delete File: " path NL
    UpdateFile := "*** Update File: " path NL [ "*** Move to: " path NL ] { Hunk }
    Hunk       := "@@" [ " " header ] NL { (" " | "-" | "+") line NL } [ "*** End of File" NL ]

Every file's new content is computed and every path checked (inside the workspace after
symlinks) before anything is written; then files are written to temporaries and moved into place
with ``os.replace``. If a write fails midway, what was written is rolled back. A patch that does not
apply changes nothing, and the error says which file and hunk failed and what context was expected.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass, field

from responses_fast.safety.patch_text import PatchTextError, header_path, patch_lines
from responses_fast.safety.paths import PathEscapeError, Workspace

from .confined_fs import HardLinkError, Located, WorkspaceFS, check_regular, read_fd

__all__ = ["APPLY_PATCH_DESCRIPTION", "PatchError", "apply_patch", "parse_patch"]

APPLY_PATCH_DESCRIPTION = """\
Use the `apply_patch` tool to edit files. Your patch language is a stripped-down, file-oriented \
diff format designed to be easy to parse and safe to apply. Think of it as a high-level envelope:

*** Begin Patch
[ one or more file sections ]
*** End Patch

Within that envelope, you get a sequence of file operations. You MUST include a header to specify \
the action you are taking. Each operation starts with one of three headers:

*** Add File: <path> - create a new file. Every following line is a + line (the initial contents).
*** Delete File: <path> - remove an existing file. Nothing follows.
*** Update File: <path> - patch an existing file in place (optionally with a rename).

To rename the file as well, follow the Update header immediately with:
*** Move to: <new path>

Then one or more "hunks", each introduced by @@ (optionally followed by a hunk header such as a \
class or function line, to say where the change goes). Within a hunk each line starts with:
  ' ' (a space) for context, '-' for a removed line, '+' for an added line.
Show 3 lines of context above and below each change. If 3 lines are not enough to find the spot \
uniquely, add an @@ line naming the enclosing class or function (several @@ lines may be stacked). \
At the end of a hunk that touches the end of the file you can emit *** End of File.

Grammar:
Patch := Begin { FileOp } End
Begin := "*** Begin Patch" NEWLINE
End := "*** End Patch" NEWLINE
FileOp := AddFile | DeleteFile | UpdateFile
AddFile := "*** Add File: " path NEWLINE { "+" line NEWLINE }
DeleteFile := "*** Delete File: " path NEWLINE
UpdateFile := "*** Update File: " path NEWLINE [ MoveTo ] { Hunk }
MoveTo := "*** Move to: " newPath NEWLINE
Hunk := "@@" [ header ] NEWLINE { HunkLine } [ "*** End of File" NEWLINE ]
HunkLine := (" " | "-" | "+") text NEWLINE

Example:
*** Begin Patch
*** Add File: hello.txt
+Hello world
*** Update File: src/app.py
*** Move to: src/main.py
@@ def greet():
-print("Hi")
+print("Hello, world!")
*** Delete File: obsolete.txt
*** End Patch

Rules: paths are relative to the workspace (never absolute, never outside it); prefix every new \
line with + even when creating a file; the patch is atomic: if any hunk does not apply, nothing \
changes and the error says which file and hunk failed, so re-read the file and retry."""


class PatchError(ValueError):
    """The patch is malformed or does not apply; nothing was changed."""


@dataclass(slots=True)
class Hunk:
    header: list[str] = field(default_factory=list)  # "@@ header" context lines
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    end_of_file: bool = False
    number: int = 0


@dataclass(slots=True)
class FileOp:
    kind: str  # "add" | "delete" | "update"
    path: str
    move_to: str | None = None
    content: list[str] = field(default_factory=list)  # add
    hunks: list[Hunk] = field(default_factory=list)  # update


_BEGIN, _END = "*** Begin Patch", "*** End Patch"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ADD, _DEL, _UPD, _MOVE, _EOF = (
    "*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: ", "*** End of File"
)  # fmt: skip


def parse_patch(text: str) -> list[FileOp]:
    """Parse the envelope; raises :class:`PatchError` with the line that is wrong.

    Lines and header paths are read with :mod:`responses_fast.safety.patch_text`, the rule the
    policy uses too: only ``\\n``/``\\r\\n`` break lines, other line breaks and NUL are refused.
    """
    try:
        lines = patch_lines(text.strip())
        for line in lines:
            header_path(line)
    except PatchTextError as exc:
        raise PatchError(str(exc)) from None
    # Models sometimes wrap the patch in a heredoc (apply_patch <<'EOF' ... EOF).
    if lines and lines[0].startswith(("apply_patch <<", "<<")) and lines[-1].strip() in (
        "EOF", "'EOF'", '"EOF"'
    ):  # fmt: skip
        lines = lines[1:-1]
    if not lines or lines[0].strip() != _BEGIN:
        raise PatchError("the first line of the patch must be '*** Begin Patch'")
    if lines[-1].strip() != _END:
        raise PatchError("the last line of the patch must be '*** End Patch'")
    ops: list[FileOp] = []
    i = 1
    end = len(lines) - 1
    while i < end:
        line = lines[i]
        if line.startswith(_ADD):
            op = FileOp("add", _path(line))
            i += 1
            while i < end and not lines[i].startswith("*** "):
                if not lines[i].startswith("+"):
                    raise PatchError(
                        f"line {i + 1}: in '*** Add File: {op.path}' every line must start"
                        f" with '+' (got {lines[i]!r})"
                    )
                op.content.append(lines[i][1:])
                i += 1
            ops.append(op)
        elif line.startswith(_DEL):
            ops.append(FileOp("delete", _path(line)))
            i += 1
        elif line.startswith(_UPD):
            op = FileOp("update", _path(line))
            i += 1
            if i < end and lines[i].startswith(_MOVE):
                op.move_to = _path(lines[i])
                i += 1
            i = _parse_hunks(lines, i, end, op)
            if not op.hunks and op.move_to is None:
                raise PatchError(f"'*** Update File: {op.path}' has no hunks")
            ops.append(op)
        elif not line.strip():
            i += 1
        else:
            raise PatchError(
                f"line {i + 1}: expected '*** Add File:', '*** Update File:' or"
                f" '*** Delete File:', got {line!r}"
            )
    for op in ops:
        if not op.path or (op.move_to is not None and not op.move_to):
            raise PatchError("a file header has an empty path")
    if not ops:
        raise PatchError("the patch has no file operations")
    return ops


def _path(header: str) -> str:
    found = header_path(header)  # checked already by parse_patch: never None, never raises
    return found[1] if found is not None else ""


def _parse_hunks(lines: list[str], i: int, end: int, op: FileOp) -> int:
    hunk: Hunk | None = None
    while i < end:
        line = lines[i]
        if line.startswith("*** ") and line.strip() != _EOF:
            break
        if line.startswith("@@"):
            header = line[2:].strip()
            if hunk is not None and not hunk.old and not hunk.new:
                if header:  # stacked @@ lines narrow the location
                    hunk.header.append(header)
            else:
                hunk = Hunk(header=[header] if header else [], number=len(op.hunks) + 1)
                op.hunks.append(hunk)
            i += 1
            continue
        if hunk is None:
            if not op.hunks and line[:1] in (" ", "-", "+"):
                hunk = Hunk(number=1)  # the first hunk may omit its @@ line
                op.hunks.append(hunk)
            else:
                raise PatchError(f"line {i + 1}: expected an '@@' hunk header, got {line!r}")
        if line.strip() == _EOF:
            hunk.end_of_file = True
            hunk = None
            i += 1
            continue
        tag, body = line[:1], line[1:]
        if tag == " " or line == "":
            hunk.old.append(body)
            hunk.new.append(body)
        elif tag == "-":
            hunk.old.append(body)
        elif tag == "+":
            hunk.new.append(body)
        else:
            raise PatchError(
                f"line {i + 1}: hunk lines must start with ' ', '-' or '+' (got {line!r})"
            )
        i += 1
    for h in op.hunks:
        if not h.old and not h.new:
            raise PatchError(f"'*** Update File: {op.path}': hunk {h.number} is empty")
    return i


# --------------------------------------------------------------------------- matching

_PUNCT = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                        "\u2015": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201a": "'",
                        "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
                        "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
                        "\u202f": " "})  # fmt: skip


def _norm(s: str) -> str:
    return unicodedata.normalize("NFC", s).translate(_PUNCT).strip()


def _seek(lines: list[str], pattern: list[str], start: int, eof: bool) -> int:
    """Index where ``pattern`` occurs at or after ``start``; -1 if nowhere.

    Tries exact, then trailing-whitespace-insensitive, then whitespace-insensitive, then
    unicode-punctuation-normalized matches (as Codex does). ``eof`` tries the end first.
    """
    n = len(pattern)
    if n == 0:
        return start
    if n > len(lines):
        return -1
    last = len(lines) - n
    candidates = range(last, start - 1, -1) if eof else range(start, last + 1)
    transforms = (
        lambda s: s,
        str.rstrip,
        str.strip,
        _norm,
    )
    for tf in transforms:
        pat = [tf(p) for p in pattern]
        first = pat[0]
        for idx in candidates:
            if tf(lines[idx]) == first and all(tf(lines[idx + k]) == pat[k] for k in range(1, n)):
                return idx
    return -1


def _apply_hunks(path: str, lines: list[str], hunks: list[Hunk]) -> list[str]:
    out = list(lines)
    cursor = 0
    # Apply in order; later hunks search after earlier ones; edits are collected then applied.
    edits: list[tuple[int, int, list[str]]] = []
    for h in hunks:
        for header in h.header:
            idx = _seek(out, [header], cursor, False)
            if idx < 0:
                raise PatchError(
                    f"{path}: hunk {h.number}: could not find the '@@ {header}' line"
                    f" (after line {cursor})"
                )
            cursor = idx + 1
        old = h.old
        if not old:  # pure insertion: after the header, or at the end of the file
            at = cursor if h.header else len(out)
            edits.append((at, 0, h.new))
            continue
        idx = _seek(out, old, cursor, h.end_of_file)
        new = h.new
        if idx < 0 and old and old[-1] == "":
            old = old[:-1]  # a trailing blank context line the file lacks
            new = new[:-1] if new and new[-1] == "" else new
            idx = _seek(out, old, cursor, h.end_of_file)
        if idx < 0:
            expected = "\n".join(f"    {line}" for line in h.old)
            where = f" after line {cursor}" if cursor else ""
            raise PatchError(
                f"{path}: hunk {h.number} did not match{where}. Expected these lines"
                f" (context and '-' lines):\n{expected}"
            )
        edits.append((idx, len(old), new))
        cursor = idx + len(old)
    # Last first, so earlier indexes stay valid (on a tie, the later edit goes first).
    for _, (at, length, new) in sorted(
        enumerate(edits), key=lambda e: (e[1][0], e[0]), reverse=True
    ):
        out[at : at + length] = new
    return out


# --------------------------------------------------------------------------- applying


def _split_text(data: bytes, shown: str) -> tuple[list[str], str]:
    if b"\x00" in data[:8192]:
        raise PatchError(f"{shown}: is a binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PatchError(f"{shown}: is not UTF-8 text") from None
    eol = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(eol)
    if lines and lines[-1] == "":
        lines.pop()
    return lines, eol


def _read_at(fs: WorkspaceFS, loc: Located) -> tuple[bytes, int]:
    """Bytes and mode of the regular file ``loc`` names, read through its own descriptor."""
    fd, st = fs.open_at(loc)
    try:
        check_regular(st, loc.shown)
        return read_fd(fd, st.st_size), st.st_mode
    finally:
        os.close(fd)


@dataclass(slots=True)
class _Target:
    """A file the patch touches: where it is, what it held, what it will hold."""

    loc: Located
    shown: str
    old: bytes | None = None  # None: did not exist
    mode: int | None = None
    new: str | None = None  # None: unchanged (or deleted)
    deleted: bool = False
    eol: str = "\n"

    def text_lines(self, name: str) -> list[str]:
        """The lines the file holds at this point of the patch."""
        if self.deleted or (self.new is None and self.old is None):
            gone = "deleted earlier in this patch" if self.deleted else "does not exist"
            raise PatchError(f"{name}: file {gone}")
        data = self.old if self.new is None else self.new.encode("utf-8")
        assert data is not None
        lines, self.eol = _split_text(data, name)
        return lines


def apply_patch(workspace: str | os.PathLike[str] | Workspace, patch: str) -> str:
    """Apply ``patch`` inside ``workspace`` atomically; return a summary (A/M/D lines).

    Raises :class:`PatchError` (nothing changed) when the patch is malformed, names a path
    outside the workspace (directly, through ``..`` or a symlink leading out), touches a file
    with several hard links, or a hunk does not apply. Every path is resolved through directory
    descriptors (:mod:`.confined_fs`) and the descriptors checked are the ones written through.
    """
    root = workspace.root if isinstance(workspace, Workspace) else os.fspath(workspace)
    fs = WorkspaceFS(root)
    ops = parse_patch(patch)
    targets: dict[tuple[str, ...], _Target] = {}
    try:
        summary = _plan(fs, ops, targets)
        _commit(fs, list(targets.values()))
    finally:
        for t in targets.values():
            t.loc.close()
    return "Success. Updated the following files:\n" + "\n".join(summary)


def _plan(fs: WorkspaceFS, ops: list[FileOp], targets: dict[tuple[str, ...], _Target]) -> list[str]:
    """Locate every path and compute every file's new content; writes nothing."""

    def target(path: str, *, follow: bool = True) -> _Target:
        try:
            loc = fs.locate(path, follow_last=follow, create=True)
        except PathEscapeError as exc:
            raise PatchError(f"refused: {exc}") from None
        except OSError as exc:
            raise PatchError(str(exc) if not exc.filename else f"{path}: {exc.strerror}") from None
        if loc.rel in targets:
            loc.close()
            return targets[loc.rel]
        t = _Target(loc, path)
        targets[loc.rel] = t
        if loc.st is not None:
            if stat.S_ISDIR(loc.st.st_mode):
                raise PatchError(f"{path}: is a directory")
            if stat.S_ISLNK(loc.st.st_mode):
                raise PatchError(f"{path}: is a symlink; remove links with the shell tool")
            try:
                t.old, t.mode = _read_at(fs, loc)
            except (HardLinkError, PathEscapeError) as exc:
                raise PatchError(f"refused: {exc}") from None
            except (OSError, ValueError) as exc:
                raise PatchError(str(exc)) from None
        return t

    summary: list[str] = []
    for op in ops:
        if op.kind == "add":
            t = target(op.path)
            t.eol = "\r\n" if t.old is not None and b"\r\n" in t.old else "\n"
            t.new = t.eol.join(op.content) + (t.eol if op.content else "")
            t.deleted = False
            summary.append(f"A {op.path}")
        elif op.kind == "delete":
            t = target(op.path, follow=False)
            if t.deleted:
                raise PatchError(f"{op.path}: deleted twice")
            if t.old is None and t.new is None:
                raise PatchError(f"{op.path}: cannot delete, file does not exist")
            t.new, t.deleted = None, True
            summary.append(f"D {op.path}")
        else:
            t = target(op.path)
            new_lines = _apply_hunks(op.path, t.text_lines(op.path), op.hunks)
            content = t.eol.join(new_lines) + (t.eol if new_lines else "")
            if op.move_to is not None:
                dest = target(op.move_to)
                if dest is not t:
                    dest.eol = t.eol
                    if dest.mode is None:
                        dest.mode = t.mode
                    t.new, t.deleted = None, True
                dest.new, dest.deleted = content, False
                summary.append(f"M {op.path} -> {op.move_to}")
            else:
                t.new = content
                summary.append(f"M {op.path}")
    return summary


def _commit(fs: WorkspaceFS, todo: list[_Target]) -> None:
    """Write every target through the folder descriptors located; roll back on any failure."""
    done: list[tuple[int, str, _Target]] = []  # (folder fd, name, target) written or deleted
    made: list[tuple[int, str]] = []  # folders created: (parent fd, name)
    opened: list[int] = []
    try:
        for t in todo:
            if t.deleted and t.old is None:
                continue  # added, then deleted or moved away
            if not t.deleted and (t.new is None or t.new.encode("utf-8") == t.old):
                continue  # unchanged
            dir_fd = t.loc.dir_fd
            for name in t.loc.missing:
                try:
                    os.mkdir(name, 0o777, dir_fd=dir_fd)
                    made.append((dir_fd, name))
                except FileExistsError:
                    pass  # made for an earlier file of this patch
                dir_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)  # a link now: ELOOP, roll back
                opened.append(dir_fd)
            if t.new is None:  # deleted
                os.unlink(t.loc.name, dir_fd=dir_fd)
            else:
                fs.write_at(dir_fd, t.loc.name, t.new.encode("utf-8"), t.mode)
            done.append((dir_fd, t.loc.name, t))
    except BaseException as exc:
        for dir_fd, name, t in reversed(done):
            try:
                if t.old is None:
                    os.unlink(name, dir_fd=dir_fd)
                else:
                    fs.write_at(dir_fd, name, t.old, t.mode)
            except OSError:
                pass
        for parent, name in reversed(made):
            try:
                os.rmdir(name, dir_fd=parent)
            except OSError:
                pass
        if isinstance(exc, (PatchError, OSError)):
            shown = done[-1][2].shown if done else (todo[0].shown if todo else "")
            raise PatchError(
                f"writing failed, every change was rolled back: {exc} ({shown})"
            ) from exc
        raise
    finally:
        for fd in opened:
            os.close(fd)
