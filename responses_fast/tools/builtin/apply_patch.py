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
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from responses_fast.safety.paths import PathEscapeError, Workspace
from responses_fast.tools.spec import FreeformInput

__all__ = [
    "APPLY_PATCH_DESCRIPTION",
    "APPLY_PATCH_FREEFORM",
    "APPLY_PATCH_LARK",
    "PatchError",
    "apply_patch",
    "parse_patch",
]

#: The envelope's grammar as Codex offers it (openai/codex ``apply_patch.lark``): Codex models
#: are trained on apply_patch as a freeform tool constrained by it.
APPLY_PATCH_LARK = r"""start: begin_patch hunk+ end_patch
begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?

hunk: add_hunk | delete_hunk | update_hunk
add_hunk: "*** Add File: " filename LF add_line+
delete_hunk: "*** Delete File: " filename LF
update_hunk: "*** Update File: " filename LF change_move? change?

filename: /(.+)/
add_line: "+" /(.*)/ LF -> line

change_move: "*** Move to: " filename LF
change: (change_context | change_line)+ eof_line?
change_context: ("@@" | "@@ " /(.+)/) LF
change_line: ("+" | "-" | " ") /(.*)/ LF
eof_line: "*** End of File" LF

%import common.LF
"""

#: apply_patch takes the patch as free text for Codex models, as a function argument elsewhere.
APPLY_PATCH_FREEFORM = FreeformInput("patch", "lark", APPLY_PATCH_LARK, only_for=("codex",))

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
_ADD, _DEL, _UPD, _MOVE, _EOF = (
    "*** Add File: ", "*** Delete File: ", "*** Update File: ", "*** Move to: ", "*** End of File"
)  # fmt: skip


def parse_patch(text: str) -> list[FileOp]:
    """Parse the envelope; raises :class:`PatchError` with the line that is wrong."""
    lines = text.strip().splitlines()
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
            op = FileOp("add", line[len(_ADD) :].strip())
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
            ops.append(FileOp("delete", line[len(_DEL) :].strip()))
            i += 1
        elif line.startswith(_UPD):
            op = FileOp("update", line[len(_UPD) :].strip())
            i += 1
            if i < end and lines[i].startswith(_MOVE):
                op.move_to = lines[i][len(_MOVE) :].strip()
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


def _read_text(path: Path, shown: str) -> tuple[list[str], str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PatchError(f"{shown}: file does not exist") from None
    except IsADirectoryError:
        raise PatchError(f"{shown}: is a directory") from None
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


def apply_patch(workspace: str | os.PathLike[str] | Workspace, patch: str) -> str:
    """Apply ``patch`` inside ``workspace`` atomically; return a summary (A/M/D lines).

    Raises :class:`PatchError` (nothing changed) when the patch is malformed, names a path
    outside the workspace, or a hunk does not apply.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    ops = parse_patch(patch)

    def resolve(p: str) -> Path:
        try:
            return ws.resolve(p)
        except PathEscapeError as exc:
            raise PatchError(f"refused: {exc}") from None

    # 1. Compute the final state of every touched file without writing anything.
    state: dict[Path, str | None] = {}  # real path -> new content (None: delete)
    shown: dict[Path, str] = {}
    eols: dict[Path, str] = {}
    summary: list[str] = []

    def current(path: Path, name: str) -> list[str]:
        if path in state:
            content = state[path]
            if content is None:
                raise PatchError(f"{name}: file does not exist (deleted earlier in this patch)")
            lines = content.split(eols.get(path, "\n"))
            return lines[:-1] if lines and lines[-1] == "" else lines
        lines, eol = _read_text(path, name)
        eols[path] = eol
        return lines

    for op in ops:
        path = resolve(op.path)
        shown[path] = op.path
        if op.kind == "add":
            if path.is_dir():
                raise PatchError(f"{op.path}: is a directory")
            eol = eols.setdefault(path, "\n")
            state[path] = eol.join(op.content) + (eol if op.content else "")
            summary.append(f"A {op.path}")
        elif op.kind == "delete":
            if os.path.islink(ws.absolute(op.path)):
                raise PatchError(f"{op.path}: is a symlink; remove links with the shell tool")
            if path not in state and not path.is_file():
                raise PatchError(f"{op.path}: cannot delete, file does not exist")
            if path in state and state[path] is None:
                raise PatchError(f"{op.path}: deleted twice")
            state[path] = None
            summary.append(f"D {op.path}")
        else:
            lines = current(path, op.path)
            new_lines = _apply_hunks(op.path, lines, op.hunks)
            eol = eols.get(path, "\n")
            content = eol.join(new_lines) + (eol if new_lines else "")
            if op.move_to is not None:
                dest = resolve(op.move_to)
                shown[dest] = op.move_to
                if dest.is_dir():
                    raise PatchError(f"{op.move_to}: is a directory")
                eols[dest] = eol
                if dest != path:
                    state[path] = None
                state[dest] = content
                summary.append(f"M {op.path} -> {op.move_to}")
            else:
                state[path] = content
                summary.append(f"M {op.path}")

    # 2. Write everything; roll back on any failure.
    _commit(ws, state, shown)
    return "Success. Updated the following files:\n" + "\n".join(summary)


def _commit(ws: Workspace, state: dict[Path, str | None], shown: dict[Path, str]) -> None:
    backups: list[tuple[Path, bytes | None, int | None]] = []
    made_dirs: list[Path] = []
    try:
        for path, content in state.items():
            old: bytes | None = None
            mode: int | None = None
            if path.is_file():
                old = path.read_bytes()
                mode = path.stat().st_mode
            backups.append((path, old, mode))
            if content is None:
                if old is not None:
                    path.unlink()
                continue
            parent = path.parent
            missing: list[Path] = []
            while not parent.exists():
                missing.append(parent)
                parent = parent.parent
            for d in reversed(missing):
                d.mkdir()
                made_dirs.append(d)
            # Re-check after creating folders: nothing may have become a link pointing out.
            ws.resolve(path)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                    f.write(content)
                if mode is not None:
                    os.chmod(tmp, mode & 0o7777)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
    except BaseException as exc:
        for path, old, mode in reversed(backups):
            try:
                if old is None:
                    if path.exists():
                        path.unlink()
                else:
                    path.write_bytes(old)
                    if mode is not None:
                        os.chmod(path, mode & 0o7777)
            except OSError:
                pass
        for d in reversed(made_dirs):
            shutil.rmtree(d, ignore_errors=True)
        if isinstance(exc, (PatchError, PathEscapeError, OSError)):
            name = next(iter(shown.values()), "")
            raise PatchError(
                f"writing failed, every change was rolled back: {exc} ({name})"
            ) from exc
        raise
