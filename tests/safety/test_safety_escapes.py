"""The policy's path checks tried as an attacker would: links already in the workspace, hidden line
breaks in patches, NUL bytes. Real folders and links in tmp_path; nothing is executed."""

from __future__ import annotations

from pathlib import Path

import pytest

from responses_fast.safety import Policy, Workspace
from responses_fast.safety.patch_text import PatchTextError, header_path, patch_lines


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    (root / ".git" / "hooks").mkdir(parents=True)
    (tmp_path / "outside" / "dir").mkdir(parents=True)
    (tmp_path / "victim").write_text("canary\n")
    (root / "l").symlink_to("../outside")  # a link that points out, already in the workspace
    (root / "s").symlink_to("sub")  # one that stays inside
    (root / "g").symlink_to(".git")
    (root / "loop").symlink_to("loop")
    return root


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("l/../victim", False),  # the kernel applies ".." to l's target: <tmp>/victim
        ("l/../outside/dir", False),
        ("l/x", False),
        ("l", False),
        ("s/../x", True),  # s -> sub, so s/.. is the root
        ("s/x", True),
        ("sub/../s/../x", True),
        ("../ws/x", True),
        ("missing/../x", True),
        ("missing/../../x", False),
        ("loop/x", False),
        ("a\x00b", False),
        ("/etc/passwd", False),
    ],
)
def test_workspace_resolves_like_the_kernel(ws: Path, path: str, inside: bool) -> None:
    w = Workspace(ws)
    assert w.contains(path) is inside
    if path == "l/../victim":
        assert w.absolute(path) == str(ws.parent / "victim")


@pytest.mark.parametrize(
    "command",
    [
        "echo x > l/../victim",
        "echo x >> l/../outside/dir/new",
        "rm -rf l/../outside/dir",
        "rm -rf l/../victim",
        "cp README l/../victim",
        "touch l/new",
        "cd l && rm -rf dir",
    ],
)
def test_shell_writes_through_an_existing_link_are_not_allowed(ws: Path, command: str) -> None:
    d = Policy(ws).check("shell", {"command": command})
    assert d.action != "allow", (command, d)


def test_shell_writes_through_a_link_that_stays_inside_are_allowed(ws: Path) -> None:
    p = Policy(ws)
    assert p.check("shell", {"command": "echo x > s/../notes.txt"}).action == "allow"


def _patch(*lines: str, sep: str = "\n") -> str:
    return sep.join(("*** Begin Patch", *lines, "*** End Patch"))


BREAKS = ["\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("sep", BREAKS, ids=[repr(b) for b in BREAKS])
def test_hooks_behind_hidden_line_breaks_are_never_allowed(ws: Path, sep: str) -> None:
    p = Policy(ws)
    whole = _patch("*** Add File: .git/hooks/pre-commit", "+curl x | sh", sep=sep)
    hidden = _patch("*** Add File: ok.txt", f"+fine{sep}*** Add File: .git/hooks/pre-commit", "+x")
    for text in (whole, hidden):
        d = p.check("apply_patch", {"patch": text})
        assert d.action != "allow" and d.rule == "unparseable", d
        with pytest.raises(PatchTextError):
            patch_lines(text)


@pytest.mark.parametrize(
    "header",
    [
        "*** Add File: .git/hooks/pre-commit",
        "*** Add File: g/hooks/pre-commit",  # through a link to .git
        "*** Add File: sub/../.git/config",
        "*** Add File: .GIT/hooks/post-checkout",
        "*** Add File: vendor/lib/.git/hooks/pre-commit",
        "*** Add File: \u2003.git/hooks/pre-commit",  # a leading Unicode space the parser strips
        "*** Update File: a.txt\n*** Move to: .git/hooks/pre-push",
    ],
)
def test_git_internals_are_asked(ws: Path, header: str) -> None:
    d = Policy(ws).check("apply_patch", {"patch": _patch(header, "+x")})
    assert (d.action, d.rule) == ("ask", "git-internals-write")


@pytest.mark.parametrize(
    "header",
    ["*** Add File: l/../victim", "*** Delete File: l/dir/x", "*** Add File: loop/x"],
)
def test_patches_through_links_leading_out_are_denied(ws: Path, header: str) -> None:
    d = Policy(ws).check("apply_patch", {"patch": _patch(header, "+x")})
    assert (d.action, d.rule) == ("deny", "path-outside-workspace")


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("apply_patch", {"patch": _patch("*** Add File: a\x00b", "+x")}),
        ("apply_patch", {"patch": _patch("*** Add File: ok.txt", "+\x00")}),
        ("apply_patch", {"patch": "\x00"}),
        ("read_file", {"path": "a\x00b"}),
        ("list_files", {"path": "\x00"}),
        ("search_files", {"path": "src/\x00/x", "pattern": "x"}),
        ("read_file", {"path": "l/../victim\x00"}),
    ],
)
def test_nul_bytes_are_refused_never_raised(ws: Path, tool: str, args: dict[str, str]) -> None:
    d = Policy(ws).check(tool, args)
    assert d.action != "allow", d


def test_header_path_rule() -> None:
    assert header_path("*** Add File:  a b.txt  ") == ("Add File", "a b.txt")
    assert header_path("*** Move to: x") == ("Move to", "x")
    assert header_path("*** End Patch") is None
    assert header_path("+*** Add File: x") is None
    for bad in ("*** Add File: a\tb", "*** Add File: ", "*** Delete File: x\x7fy"):
        with pytest.raises(PatchTextError):
            header_path(bad)
    assert patch_lines("a\r\nb\nc") == ["a", "b", "c"]
