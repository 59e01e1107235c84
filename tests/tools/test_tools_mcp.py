"""MCP servers as tool sources (issue 14): a real server process, stdio and streamable HTTP,
driven by a real agent loop against the local server, through the session's safety policy."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from responses_fast.protocol.items import FunctionCallOutput
from responses_fast.safety import Policy
from responses_fast.server import serve
from responses_fast.session import AgentSession, ToolCallFlagged
from responses_fast.tools.mcp import MCPHttp, MCPStdio

pytestmark = pytest.mark.anyio

SERVER = str(Path(__file__).with_name("mcp_server.py"))


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


def msg(text: str) -> dict[str, Any]:
    return {"type": "message", "text": text}


def stdio_server(notes: Path, **kw: Any) -> MCPStdio:
    return MCPStdio(sys.executable, [SERVER], env={"NOTES_FILE": str(notes)}, **kw)


async def test_stdio_tools_are_listed_once_with_their_schemas(tmp_path: Path) -> None:
    async with stdio_server(tmp_path / "notes") as server:
        tools = await server.tools()
        again = await server.tools()
    assert server.list_calls == 1
    assert [t.name for t in tools] == [t.name for t in again]
    by_name = {t.name: t for t in tools}
    assert set(by_name) == {"add", "write_note", "leak_env", "fail"}
    add = by_name["add"]
    assert add.kind == "mcp"
    assert add.description == "Add two integers."
    assert add.parameters["required"] == ["a", "b"]
    assert add.schema()["parameters"]["properties"]["a"]["type"] == "integer"


async def test_a_session_runs_mcp_tools_in_its_loop(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    script = [[fc("add", a=2, b=40), fc("write_note", text="hello")], [msg("42, noted.")]]
    async with stdio_server(notes, prefix="") as mcp_server, serve(script=script) as server:
        tools = await mcp_server.tools()
        async with AgentSession(
            "scripted", tools=tools, base_url=server.base_url, api_key="k", policy=None
        ) as session:
            result = await session.run("add and note")
    outputs = {o.output for o in result.items if isinstance(o, FunctionCallOutput)}
    assert outputs == {"42", "noted: hello"}
    assert notes.read_text() == "hello\n"  # the side effect ran exactly once
    assert result.final_text == "42, noted."


async def test_mcp_errors_reach_the_model_as_tool_errors(tmp_path: Path) -> None:
    async with stdio_server(tmp_path / "notes") as server:
        tools = {t.name: t for t in await server.tools()}
        failed = await tools["fail"].invoke('{"reason": "no"}')
        unknown_arg = await tools["add"].invoke('{"a": 1}')
    assert failed.is_error and "refused: no" in failed.output
    assert unknown_arg.is_error and "b" in unknown_arg.output


async def test_the_server_process_does_not_inherit_api_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret-0123456789")
    async with stdio_server(tmp_path / "notes") as server:
        tools = {t.name: t for t in await server.tools()}
        leaked = await tools["leak_env"].invoke('{"name": "OPENAI_API_KEY"}')
        notes = await tools["leak_env"].invoke('{"name": "NOTES_FILE"}')
    assert leaked.output == ""
    assert notes.output == str(tmp_path / "notes")


async def test_mcp_calls_go_through_the_policy_and_approvals(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    policy = Policy(tmp_path)
    policy.set_tool("mcp_write_note", "ask")
    asked: list[str] = []

    def approve(call: Any, decision: Any) -> bool:
        asked.append(call.name)
        return False

    script = [[fc("mcp_write_note", text="x"), fc("mcp_add", a=1, b=1)], [msg("ok")]]
    flagged: list[ToolCallFlagged] = []
    async with stdio_server(notes, prefix="mcp_", allowed=["add", "write_note"]) as mcp_server:
        tools = await mcp_server.tools()
        assert sorted(t.name for t in tools) == ["mcp_add", "mcp_write_note"]
        async with (
            serve(script=script) as server,
            AgentSession(
                "scripted",
                tools=tools,
                base_url=server.base_url,
                api_key="k",
                policy=policy,
                approval=approve,
            ) as session,
        ):
            async with session.stream("go") as events:
                async for event in events:
                    if isinstance(event, ToolCallFlagged):
                        flagged.append(event)
            items = session.items
    assert asked == ["mcp_write_note"]
    assert [(f.name, f.approved) for f in flagged] == [("mcp_write_note", False)]
    assert not notes.exists(), "a refused MCP call must not run"
    outputs = {o.output for o in items if isinstance(o, FunctionCallOutput)}
    assert "2" in outputs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    notes = tmp_path / "notes"
    proc = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port)],
        env={"NOTES_FILE": str(notes), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # the server process needs a moment to listen
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the MCP test server exited") from None
                import time

                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp", notes
    finally:
        proc.terminate()
        proc.wait(10)


async def test_streamable_http_server_in_a_session(http_server: tuple[str, Path]) -> None:
    url, notes = http_server
    script = [[fc("write_note", text="over http")], [msg("done")]]
    async with MCPHttp(url, headers={"X-Test": "1"}) as mcp_server, serve(script=script) as server:
        tools = await mcp_server.tools()
        async with AgentSession(
            "scripted", tools=tools, base_url=server.base_url, api_key="k", policy=None
        ) as session:
            with anyio.fail_after(30):
                result = await session.run("note it")
    assert result.final_text == "done"
    assert notes.read_text() == "over http\n"


async def test_using_tools_before_connecting_is_a_clear_error() -> None:
    from responses_fast.errors import UsageError

    server = MCPStdio(sys.executable, [SERVER])
    with pytest.raises(UsageError, match="not connected"):
        await server.tools()
