"""read_file, list_files, search_files on real files."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from responses_fast.safety import PathEscapeError, Workspace
from responses_fast.tools import Tool
from responses_fast.tools.builtin import coding_tools
from responses_fast.tools.builtin.files import list_files, read_file, search_files


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    (root / "src" / "pkg" / "mod.py").write_text("def f():\n    return 'needle'\n")
    (root / "README.md").write_text("# Title\nneedle in docs\n")
    (root / "data.bin").write_bytes(b"\x00\x01needle\x02")
    for skipped in (".git", "__pycache__", "node_modules"):
        (root / skipped).mkdir()
        (root / skipped / "x.py").write_text("needle\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("needle\n")
    (root / "escape").symlink_to(tmp_path / "outside")
    return root


def read(ws: Path, path: str, start: int = 1, end: int | None = None, limit: int = 10_000) -> str:
    return read_file(Workspace(ws), path, start, end, max_output_bytes=limit)


def test_read_whole_file_numbered(ws: Path) -> None:
    out = read(ws, "src/pkg/mod.py")
    assert out == "     1\tdef f():\n     2\t    return 'needle'"


def test_read_line_range(ws: Path) -> None:
    out = read(ws, "src/app.py", 10, 12)
    assert out.splitlines() == [
        "    10\tline 10",
        "    11\tline 11",
        "    12\tline 12",
        "[lines 10-12 of 100]",
    ]
    assert read(ws, "src/app.py", 99).splitlines() == ["    99\tline 99", "   100\tline 100"]
    assert read(ws, "src/app.py", 98, 1000).splitlines()[-1] == "   100\tline 100"


def test_read_truncates_with_a_continuation_hint(ws: Path) -> None:
    out = read(ws, "src/app.py", limit=200)
    assert "continue with start_line=" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("path", "start", "end", "error", "message"),
    [
        ("missing.txt", 1, None, FileNotFoundError, "no such file"),
        ("src", 1, None, IsADirectoryError, "directory"),
        ("data.bin", 1, None, ValueError, "binary"),
        ("src/app.py", 500, None, ValueError, "past the end"),
        ("src/app.py", 0, None, ValueError, "start_line"),
        ("src/app.py", 5, 2, ValueError, "end_line"),
        ("../outside/secret.txt", 1, None, PathEscapeError, "outside the workspace"),
        ("escape/secret.txt", 1, None, PathEscapeError, "symlink"),
        ("/etc/hostname", 1, None, PathEscapeError, "outside the workspace"),
    ],
)
def test_read_errors(
    ws: Path, path: str, start: int, end: int | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        read(ws, path, start, end)


def test_read_too_large(ws: Path) -> None:
    big = ws / "big.txt"
    with big.open("wb") as f:
        f.truncate(11 * 1024 * 1024)
    with pytest.raises(ValueError, match="too large"):
        read(ws, "big.txt")


def test_list_files(ws: Path) -> None:
    out = list_files(Workspace(ws), ".", 3, 100).splitlines()
    assert out == [
        "README.md",
        "data.bin",
        "src/",
        "src/app.py",
        "src/pkg/",
        "src/pkg/mod.py",
    ]
    assert list_files(Workspace(ws), "src", 1, 100).splitlines() == ["app.py", "pkg/"]
    limited = list_files(Workspace(ws), ".", 3, 2).splitlines()
    assert limited[:2] == ["README.md", "data.bin"] and "4 more entries" in limited[2]
    with pytest.raises(PathEscapeError):
        list_files(Workspace(ws), "..", 1, 10)


def test_search_files(ws: Path) -> None:
    w = Workspace(ws)
    out = search_files(w, r"need\w+", ".", None, 100, max_output_bytes=10_000).splitlines()
    assert out == ["README.md:2: needle in docs", "src/pkg/mod.py:2:     return 'needle'"]
    assert search_files(w, "needle", ".", "*.py", 100, max_output_bytes=10_000).splitlines() == [
        "src/pkg/mod.py:2:     return 'needle'"
    ]
    assert search_files(w, "line 5$", "src/app.py", None, 100, max_output_bytes=10_000) == (
        "src/app.py:5: line 5"
    )
    capped = search_files(w, "line", "src", None, 3, max_output_bytes=10_000).splitlines()
    assert len(capped) == 4 and "capped" in capped[-1]
    assert search_files(w, "zzz", ".", None, 10, max_output_bytes=10_000).startswith("no matches")
    with pytest.raises(ValueError, match="invalid regular expression"):
        search_files(w, "(", ".", None, 10, max_output_bytes=10_000)


@pytest.mark.anyio
async def test_tools_through_invoke(ws: Path) -> None:
    tools: dict[str, Tool] = {t.name: t for t in coding_tools(ws)}
    assert {t.kind for n, t in tools.items() if n != "shell"} == {"read", "write"}
    r = await tools["read_file"].invoke(orjson.dumps({"path": "README.md", "end_line": 1}).decode())
    assert r.output.startswith("     1\t# Title")
    r = await tools["read_file"].invoke(orjson.dumps({"path": "../outside/secret.txt"}).decode())
    assert r.is_error and "outside the workspace" in r.output
    r = await tools["list_files"].invoke("{}")
    assert "src/pkg/mod.py" in r.output
    r = await tools["search_files"].invoke(
        orjson.dumps({"pattern": "needle", "glob": "*.md"}).decode()
    )
    assert r.output == "README.md:2: needle in docs"
    r = await tools["read_file"].invoke(orjson.dumps({"path": 3}).decode())
    assert r.is_error


def test_workspace_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        coding_tools(tmp_path / "nope")
