"""apply_patch: add/update/delete/move, multi-hunk updates, and atomic refusal."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responses_fast.tools.builtin import PatchError, apply_patch, coding_tools, parse_patch


def tree_hash(root: Path) -> str:
    """A hash of every path, file mode, link target and file content under ``root``."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = Path(dirpath, name)
            h.update(str(p.relative_to(root)).encode())
            if p.is_symlink():
                h.update(b"L" + os.readlink(p).encode())
            elif p.is_file():
                h.update(b"F%o" % p.stat().st_mode + p.read_bytes())
            else:
                h.update(b"D")
    return h.hexdigest()


APP = """\
import os


def greet(name):
    print("Hi", name)
    return name


class Runner:
    def run(self):
        value = 1
        return value


def main():
    greet("world")
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(APP)
    (root / "notes.txt").write_text("one\ntwo\nthree\n")
    (root / "old.txt").write_text("obsolete\n")
    return root


def patch(*lines: str) -> str:
    return "\n".join(["*** Begin Patch", *lines, "*** End Patch"]) + "\n"


def test_add_update_delete_move(ws: Path) -> None:
    out = apply_patch(
        ws,
        patch(
            "*** Add File: pkg/new/hello.txt",
            "+Hello",
            "+world",
            "*** Update File: notes.txt",
            "*** Move to: docs/notes.md",
            "@@",
            " one",
            "-two",
            "+TWO",
            " three",
            "*** Delete File: old.txt",
        ),
    )
    assert (ws / "pkg/new/hello.txt").read_text() == "Hello\nworld\n"
    assert not (ws / "notes.txt").exists()
    assert (ws / "docs/notes.md").read_text() == "one\nTWO\nthree\n"
    assert not (ws / "old.txt").exists()
    assert out.splitlines() == [
        "Success. Updated the following files:",
        "A pkg/new/hello.txt",
        "M notes.txt -> docs/notes.md",
        "D old.txt",
    ]


def test_multi_hunk_update_with_context_headers(ws: Path) -> None:
    apply_patch(
        ws,
        patch(
            "*** Update File: src/app.py",
            "@@",
            " import os",
            "+import sys",
            " ",
            " ",
            "@@ def greet(name):",
            '-    print("Hi", name)',
            '+    print("Hello,", name)',
            "     return name",
            "@@ class Runner:",
            "@@     def run(self):",
            "-        value = 1",
            "+        value = 2",
            "         return value",
            "@@ def main():",
            '     greet("world")',
            '+    greet("again")',
            "*** End of File",
        ),
    )
    text = (ws / "src/app.py").read_text()
    assert text == (
        APP.replace("import os\n", "import os\nimport sys\n")
        .replace('print("Hi", name)', 'print("Hello,", name)')
        .replace("value = 1", "value = 2")
        + '    greet("again")\n'
    )


def test_fuzzy_whitespace_and_unicode_punctuation(ws: Path) -> None:
    (ws / "q.txt").write_text("say \u201chi\u201d   \nend\n")
    apply_patch(ws, patch("*** Update File: q.txt", "@@", '-say "hi"', '+say "bye"', " end"))
    assert (ws / "q.txt").read_text() == 'say "bye"\nend\n'


def test_crlf_files_keep_their_line_endings(ws: Path) -> None:
    (ws / "w.txt").write_bytes(b"a\r\nb\r\n")
    apply_patch(ws, patch("*** Update File: w.txt", "@@", " a", "-b", "+c"))
    assert (ws / "w.txt").read_bytes() == b"a\r\nc\r\n"


def test_file_mode_is_kept(ws: Path) -> None:
    script = ws / "run.sh"
    script.write_text("echo a\n")
    script.chmod(0o755)
    apply_patch(ws, patch("*** Update File: run.sh", "@@", "-echo a", "+echo b"))
    assert script.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("*** Add File: ../escape.txt", "+x"), "outside the workspace"),
        (("*** Add File: a/../../escape.txt", "+x"), "outside the workspace"),
        (("*** Add File: /tmp/abs-escape.txt", "+x"), "outside the workspace"),
        (("*** Delete File: /etc/hostname",), "outside the workspace"),
        (("*** Update File: notes.txt", "*** Move to: ../moved.txt", "@@", "-one", "+1"),
         "outside the workspace"),
        (("*** Add File: link/x.txt", "+x"), "symlink"),
        (("*** Update File: link2", "@@", "-secret", "+pwned"), "symlink"),
        (("*** Add File: ok.txt", "+fine", "*** Add File: ../../bad.txt", "+x"),
         "outside the workspace"),
    ],
)  # fmt: skip
def test_escapes_are_refused_and_change_nothing(
    ws: Path, tmp_path: Path, lines: tuple[str, ...], message: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_text("secret\n")
    (ws / "link").symlink_to(outside)
    (ws / "link2").symlink_to(outside / "target.txt")
    before_ws, before_out = tree_hash(ws), tree_hash(outside)
    before_root = sorted(os.listdir(tmp_path))
    with pytest.raises(PatchError, match=message):
        apply_patch(ws, patch(*lines))
    assert tree_hash(ws) == before_ws
    assert tree_hash(outside) == before_out
    assert sorted(os.listdir(tmp_path)) == before_root
    assert (outside / "target.txt").read_text() == "secret\n"


def test_second_file_failing_leaves_the_first_untouched(ws: Path) -> None:
    before = tree_hash(ws)
    with pytest.raises(PatchError) as info:
        apply_patch(
            ws,
            patch(
                "*** Update File: notes.txt",
                "@@",
                "-one",
                "+ONE",
                "*** Add File: added.txt",
                "+new",
                "*** Update File: src/app.py",
                "@@ def greet(name):",
                "-    print('this line is not there')",
                "+    print('x')",
            ),
        )
    assert tree_hash(ws) == before
    msg = str(info.value)
    assert "src/app.py" in msg and "hunk 1" in msg
    assert "print('this line is not there')" in msg  # the expected context is shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*** Update File: x\n@@\n-a\n+b\n*** End Patch", "Begin Patch"),
        ("*** Begin Patch\n*** Add File: x\n+a", "End Patch"),
        ("*** Begin Patch\n*** Add File: x\nno plus\n*** End Patch", "must start with '\\+'"),
        ("*** Begin Patch\n*** Frobnicate: x\n*** End Patch", "expected '\\*\\*\\* Add File:'"),
        ("*** Begin Patch\n*** Update File: notes.txt\n*** End Patch", "no hunks"),
        ("*** Begin Patch\n*** Update File: notes.txt\n@@\n?bad\n*** End Patch", "must start with"),
        ("*** Begin Patch\n*** End Patch", "no file operations"),
    ],
)
def test_malformed_patches(ws: Path, text: str, message: str) -> None:
    before = tree_hash(ws)
    with pytest.raises(PatchError, match=message):
        apply_patch(ws, text)
    assert tree_hash(ws) == before


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("*** Update File: missing.txt", "@@", "-a", "+b"), "does not exist"),
        (("*** Delete File: missing.txt",), "does not exist"),
        (("*** Update File: src/app.py", "@@ def nowhere():", "-x", "+y"), "could not find"),
        (("*** Update File: src", "@@", "-x", "+y"), "directory"),
    ],
)
def test_does_not_apply(ws: Path, lines: tuple[str, ...], message: str) -> None:
    before = tree_hash(ws)
    with pytest.raises(PatchError, match=message):
        apply_patch(ws, patch(*lines))
    assert tree_hash(ws) == before


def test_binary_files_are_refused(ws: Path) -> None:
    (ws / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(PatchError, match="binary"):
        apply_patch(ws, patch("*** Update File: blob.bin", "@@", "-x", "+y"))


def test_first_hunk_may_omit_the_header_and_heredoc_wrapper(ws: Path) -> None:
    text = (
        "apply_patch <<'EOF'\n" + patch("*** Update File: notes.txt", " one", "-two", "+2") + "EOF"
    )
    apply_patch(ws, text)
    assert (ws / "notes.txt").read_text() == "one\n2\nthree\n"


def test_parse_patch_structure() -> None:
    ops = parse_patch(
        patch("*** Update File: a", "*** Move to: b", "@@ x", "@@ y", " c", "-d", "+e")
    )
    (op,) = ops
    assert (op.kind, op.path, op.move_to) == ("update", "a", "b")
    assert op.hunks[0].header == ["x", "y"]
    assert (op.hunks[0].old, op.hunks[0].new) == (["c", "d"], ["c", "e"])


@pytest.mark.anyio
async def test_tool_reports_errors_as_output(ws: Path) -> None:
    tools = {t.name: t for t in coding_tools(ws)}
    tool = tools["apply_patch"]
    assert tool.kind == "write"
    assert "*** Begin Patch" in tool.description
    import orjson

    ok = await tool.invoke(orjson.dumps({"patch": patch("*** Add File: t.txt", "+x")}).decode())
    assert not ok.is_error and "A t.txt" in ok.output
    bad = await tool.invoke(orjson.dumps({"patch": patch("*** Add File: ../t.txt", "+x")}).decode())
    assert bad.is_error and "outside the workspace" in bad.output
    assert not (ws.parent / "t.txt").exists()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(
            ["*** Begin Patch", "*** End Patch", "*** Add File: f.txt",
             "*** Update File: notes.txt", "*** Delete File: old.txt", "*** Move to: m.txt",
             "@@", "@@ two", " one", "-two", "+2", "+x", "*** End of File", "", "junk"]
        ),
        max_size=12,
    )
)  # fmt: skip
def test_random_patches_apply_fully_or_not_at_all(ws: Path, lines: list[str]) -> None:
    before = tree_hash(ws)
    try:
        apply_patch(ws, "\n".join(lines))
    except PatchError:
        assert tree_hash(ws) == before


def test_failure_while_writing_rolls_back(ws: Path) -> None:
    # Validation cannot foresee every write error: "clash" is added as a file and then used as a
    # folder, so the 4th write fails (ENOTDIR) after notes.txt was replaced, newdir/ created and
    # clash written; all of it must be undone.
    before = tree_hash(ws)
    with pytest.raises(PatchError, match="rolled back"):
        apply_patch(
            ws,
            patch(
                "*** Update File: notes.txt",
                "@@",
                "-one",
                "+ONE",
                "*** Add File: newdir/inner.txt",
                "+created folder",
                "*** Add File: clash",
                "+a file",
                "*** Add File: clash/inside.txt",
                "+x",
            ),
        )
    assert tree_hash(ws) == before
    assert (ws / "notes.txt").read_text() == "one\ntwo\nthree\n"
    assert not (ws / "newdir").exists()
    assert not (ws / "clash").exists()


def test_deleting_a_symlink_is_refused(ws: Path) -> None:
    (ws / "alias.txt").symlink_to(ws / "notes.txt")
    before = tree_hash(ws)
    with pytest.raises(PatchError, match="symlink"):
        apply_patch(ws, patch("*** Delete File: alias.txt"))
    assert tree_hash(ws) == before
