"""The shell tool with the sandbox: argv-list commands, the mode it reports, selection."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from responses_fast.sandbox import Sandbox, SandboxUnavailableError, core, detect_backend
from responses_fast.tools import Tool
from responses_fast.tools.builtin import coding_tools, shell_tool_sandbox
from responses_fast.tools.builtin.shell import command_argv, command_text

pytestmark = pytest.mark.anyio


def shell(ws: Path, **kwargs: object) -> Tool:
    return {t.name: t for t in coding_tools(ws, **kwargs)}["shell"]  # type: ignore[arg-type]


async def call(tool: Tool, command: object) -> str:
    return (await tool.invoke(orjson.dumps({"command": command}).decode())).output


def test_command_text_and_argv() -> None:
    assert command_text(["bash", "-lc", "ls -la | wc -l"]) == "ls -la | wc -l"
    assert command_text(["/bin/sh", "-c", "echo hi"]) == "echo hi"
    assert command_text(["rm", "-rf", "/"]) == "rm -rf /"
    assert command_text(["echo", "a b", "$HOME"]) == "echo 'a b' '$HOME'"
    assert command_argv("echo hi") == ["bash", "-c", "echo hi"]
    assert command_argv(["ls", "-la"]) == ["ls", "-la"]
    with pytest.raises(ValueError):
        command_argv([])
    with pytest.raises(ValueError):
        command_argv(["echo", "a\0b"])


async def test_argv_list_forms_run(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("one\n")
    tool = shell(tmp_path)
    out = await call(tool, ["bash", "-lc", "cat f.txt && echo two"])
    # A login shell reads the machine's profile, which may print: check our lines only.
    assert out.startswith("exit code: 0\n") and out.endswith("one\ntwo\n")
    assert await call(tool, ["cat", "f.txt"]) == "exit code: 0\none\n"
    # No shell for a plain argv: metacharacters are arguments.
    out = await call(tool, ["echo", "a;", "$(id)", "*"])
    assert out == "exit code: 0\na; $(id) *\n"


async def test_argv_list_is_checked_by_the_policy(tmp_path: Path) -> None:
    tool = shell(tmp_path)
    result = await tool.invoke(orjson.dumps({"command": ["bash", "-lc", "rm -rf /"]}).decode())
    assert result.is_error and "refused by policy" in result.output
    result = await tool.invoke(orjson.dumps({"command": ["rm", "-rf", "/"]}).decode())
    assert result.is_error and "refused by policy" in result.output


async def test_bad_command_types_are_invalid_arguments(tmp_path: Path) -> None:
    tool = shell(tmp_path)
    result = await tool.invoke(orjson.dumps({"command": 42}).decode())
    assert result.is_error


async def test_tool_reports_its_sandbox(tmp_path: Path) -> None:
    tools = coding_tools(tmp_path, sandbox="read-only", network=False)
    box = shell_tool_sandbox(tools)
    assert box is not None and box.mode == "read-only" and not box.network
    desc = {t.name: t for t in tools}["shell"].description
    if box.sandboxed:
        assert "OS sandbox" in desc and "no network" in desc
    else:
        assert "NOT sandboxed" in desc


async def test_danger_full_access_is_not_sandboxed(tmp_path: Path) -> None:
    box = Sandbox(tmp_path, mode="danger-full-access")
    assert not box.sandboxed and "NONE" in box.describe()
    tool = shell(tmp_path, sandbox=box)
    assert "NOT sandboxed" in tool.description
    out = await call(tool, "echo $$")
    assert out.startswith("exit code: 0")


def test_backend_selection() -> None:
    with pytest.raises(ValueError, match="unknown sandbox backend"):
        detect_backend("docker")
    with pytest.raises(SandboxUnavailableError):
        detect_backend("seatbelt")  # not macOS
    assert detect_backend("none").name == "none"
    auto = detect_backend()
    assert auto is detect_backend()  # probed once, cached
    assert auto.name in ("bwrap", "landlock", "none")


def test_bad_modes_and_workspaces(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sandbox mode"):
        Sandbox(tmp_path, mode="yolo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a folder"):
        Sandbox(tmp_path / "missing")


def test_no_sandbox_is_reported_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Sandbox(tmp_path, backend="none")
    assert not box.sandboxed
    assert "NONE" in box.describe() and "unconfined" in box.describe()
    # A machine with no backend at all (simulated: every probe says why not) gets one WARNING
    # and a "none" backend, never a pretend sandbox.
    monkeypatch.setattr(core, "_probe", lambda name: f"{name}: unavailable in this test")
    core._resolve.cache_clear()
    try:
        with caplog.at_level(logging.INFO, logger="responses_fast.sandbox"):
            info = detect_backend()
            again = detect_backend()
        assert info.name == "none" and again is info
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "no OS sandbox" in warnings[0].getMessage()
        assert not Sandbox(tmp_path).sandboxed
    finally:
        core._resolve.cache_clear()


async def test_none_backend_runs_unconfined_but_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnop")
    tool = shell(tmp_path, sandbox=Sandbox(tmp_path, backend="none"))
    out = await call(tool, "env")
    assert "OPENAI_API_KEY" not in out


async def test_read_only_workspace_under_tmp_stays_visible(tmp_path: Path, backend: str) -> None:
    # bwrap puts a fresh tmpfs on /tmp: a workspace living there must be bound back, read-only.
    (tmp_path / "data.txt").write_text("visible\n")
    box = Sandbox(tmp_path, mode="read-only", backend=backend)
    out = await call(shell(tmp_path, sandbox=box), "cat data.txt; echo x > data.txt")
    assert "visible" in out
    assert (tmp_path / "data.txt").read_text() == "visible\n"


def test_session_exposes_the_sandbox(tmp_path: Path) -> None:
    from responses_fast import AgentSession

    tools = coding_tools(tmp_path, sandbox="read-only")
    session = AgentSession("scripted", tools=tools, base_url="http://127.0.0.1:9/v1", api_key="x")
    assert session.sandbox is shell_tool_sandbox(tools)
    assert session.sandbox is not None and session.sandbox.mode == "read-only"
    assert AgentSession("scripted", base_url="http://127.0.0.1:9/v1", api_key="x").sandbox is None


async def test_run_shell_cwd_inside_the_workspace(tmp_path: Path, backend: str) -> None:
    from responses_fast.tools.builtin import run_shell

    (tmp_path / "sub").mkdir()
    box = Sandbox(tmp_path, backend=backend)
    env = {"PATH": "/usr/bin:/bin"}
    r = await run_shell(
        "pwd; echo x > made", tmp_path / "sub", time_limit=5, max_output_bytes=1000, env=env,
        sandbox=box,
    )  # fmt: skip
    assert r.output.strip().endswith("/sub")
    assert (tmp_path / "sub" / "made").exists()
