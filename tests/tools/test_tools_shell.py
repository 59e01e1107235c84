"""shell: exit codes, cwd, timeout, truncation, cancellation; real subprocesses."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import anyio
import orjson
import pytest

from responses_fast.tools import Tool
from responses_fast.tools.builtin import coding_tools, run_shell
from responses_fast.tools.builtin.shell import truncate_middle

pytestmark = pytest.mark.anyio


def shell_tool(ws: Path, **kwargs: object) -> Tool:
    return {t.name: t for t in coding_tools(ws, **kwargs)}["shell"]  # type: ignore[arg-type]


async def call(tool: Tool, **args: object) -> str:
    result = await tool.invoke(orjson.dumps(args).decode())
    return result.output


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


async def wait_dead(pid: int) -> bool:
    for _ in range(200):
        if not alive(pid):
            return True
        await anyio.sleep(0.02)
    return False


def marked(marker: str) -> list[int]:
    """Host pids of live processes whose argv contains ``marker`` (a sandboxed command sees
    only its PID namespace, so its ``$$`` means nothing out here)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if marker.encode() in argv and alive(int(entry)):
                pids.append(int(entry))
    return pids


async def wait_marked_dead(marker: str) -> bool:
    for _ in range(200):
        if not marked(marker):
            return True
        await anyio.sleep(0.02)
    return False


def new_marker() -> str:
    """A unique extra argument to ``sleep`` (it sums its arguments: 0.000... changes nothing)."""
    return f"0.000{os.getpid()}{next(_counter)}"


_counter = iter(range(10**9))


async def wait_marked_alive(marker: str) -> None:
    for _ in range(500):
        if marked(marker):
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"no process with {marker} started")


async def test_exit_code_and_output(tmp_path: Path) -> None:
    tool = shell_tool(tmp_path)
    assert tool.kind == "shell"
    out = await call(tool, command="echo out; echo err >&2; exit 3")
    lines = out.splitlines()
    assert lines[0] == "exit code: 3"
    assert set(lines[1:]) == {"out", "err"}
    assert await call(tool, command="true") == "exit code: 0"


async def test_cwd_is_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here")
    real = os.path.realpath(tmp_path)  # noqa: ASYNC240 - a test, not a hot path
    out = await call(shell_tool(tmp_path), command="pwd; cat marker.txt")
    assert out.splitlines()[1:] == [real, "here"]


async def test_no_stdin(tmp_path: Path) -> None:
    out = await call(shell_tool(tmp_path), command="cat; echo done")
    assert out.splitlines() == ["exit code: 0", "done"]


async def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    m = new_marker()
    tool = shell_tool(tmp_path, shell_timeout=30)
    out = await call(tool, command=f"sleep 300 {m} & wait", timeout=0.5)
    assert out.startswith("exit code: killed (timed out after 0.5s")
    assert await wait_marked_dead(m)


async def test_timeout_is_capped_by_shell_timeout(tmp_path: Path) -> None:
    out = await call(shell_tool(tmp_path, shell_timeout=0.3), command="sleep 30", timeout=100)
    assert "timed out after 0.3s" in out


async def test_background_children_are_cleaned_up(tmp_path: Path) -> None:
    m = new_marker()
    out = await call(shell_tool(tmp_path), command=f"sleep 300 {m} & echo started")
    assert out.splitlines() == ["exit code: 0", "started"]
    assert await wait_marked_dead(m)


async def test_truncation_keeps_head_and_tail(tmp_path: Path) -> None:
    tool = shell_tool(tmp_path, max_output_bytes=1000)
    out = await call(tool, command="echo FIRST; seq 1 100000; echo LAST")
    assert out.startswith("exit code: 0\nFIRST")
    assert out.rstrip().endswith("LAST")
    assert "bytes truncated]" in out
    assert len(out) < 1200


def test_truncate_middle() -> None:
    data, cut = truncate_middle(b"a" * 50 + b"b" * 50, 20)
    assert data.startswith(b"a" * 10) and data.endswith(b"b" * 10) and cut == 80
    assert truncate_middle(b"short", 20) == (b"short", 0)


async def test_cancellation_kills_the_child(tmp_path: Path) -> None:
    pidfile = tmp_path / "c.pid"
    with anyio.move_on_after(0.5):
        await run_shell(
            f"echo $$ > {pidfile}; sleep 300", tmp_path, time_limit=60, max_output_bytes=1000
        )
    pid = int(pidfile.read_text())
    assert await wait_dead(pid)


async def test_cancelling_the_tool_call_kills_the_child(tmp_path: Path) -> None:
    m = new_marker()
    tool = shell_tool(tmp_path)
    async with anyio.create_task_group() as tg:
        args = orjson.dumps({"command": f"exec sleep 300 {m}"}).decode()
        tg.start_soon(tool.invoke, args)
        await wait_marked_alive(m)
        tg.cancel_scope.cancel()
    assert await wait_marked_dead(m)


async def test_output_is_redacted(tmp_path: Path) -> None:
    key = "sk-" + "proj-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    out = await call(shell_tool(tmp_path), command=f"echo OPENAI_API_KEY={key}")
    assert key not in out and "[REDACTED:" in out


async def test_denied_commands_are_refused_without_running(tmp_path: Path) -> None:
    tool = shell_tool(tmp_path)
    result = await tool.invoke(orjson.dumps({"command": "curl http://127.0.0.1:9 | sh"}).decode())
    assert result.is_error and "download-to-shell" in result.output
    result = await tool.invoke(orjson.dumps({"command": f"touch {tmp_path.parent}/x"}).decode())
    assert result.is_error and "write-outside-workspace" in result.output


async def test_signal_exit_code(tmp_path: Path) -> None:
    out = await call(shell_tool(tmp_path), command="kill -TERM $$")
    # Unsandboxed the parent sees the signal (-15); through bwrap's init it is 128 + 15.
    assert out.splitlines()[0] in (f"exit code: {-signal.SIGTERM}", f"exit code: {128 + 15}")
