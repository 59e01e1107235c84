"""Lifecycle hooks (issue 14, feature 7): before/after model and tool calls, vetoes."""

from __future__ import annotations

from typing import Any

import pytest

from responses_fast import (
    AgentSession,
    Hooks,
    ModelCallInfo,
    ModelResponseInfo,
    RunContext,
    ToolCallInfo,
    ToolResult,
    Veto,
    tool,
)
from responses_fast.protocol.items import FunctionCallOutput
from responses_fast.testing import scripted_server

pytestmark = pytest.mark.anyio

ran: list[str] = []


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    ran.append("add")
    return a + b


@tool
async def drop_table(table: str) -> str:
    """Drop a database table."""
    ran.append("drop_table")
    return f"dropped {table}"


SCRIPT = [
    [
        {"type": "function_call", "name": "add", "arguments": {"a": 2, "b": 3}},
        {"type": "function_call", "name": "drop_table", "arguments": {"table": "users"}},
    ],
    ["2 + 3 = 5; I was not allowed to drop the table."],
]


class Recorder(Hooks):
    """Sync model hooks, async tool hooks: both kinds are awaited correctly."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def before_model_call(self, call: ModelCallInfo) -> None:
        self.log.append(f"model> {call.turn}.{call.attempt} {call.model}")

    def after_model_call(self, call: ModelCallInfo, response: ModelResponseInfo) -> None:
        self.log.append(f"model< {call.turn} {response.status} {list(response.tool_calls)}")
        assert response.output_tokens > 0

    async def before_tool_call(self, call: ToolCallInfo) -> Veto | None:
        self.log.append(f"tool> {call.name} {call.arguments}")
        if call.name == "drop_table":
            return Veto("destructive database operations are not allowed")
        return None

    async def after_tool_call(self, call: ToolCallInfo, result: ToolResult) -> None:
        self.log.append(f"tool< {call.name} {result.output[:20]}")


@pytest.mark.parametrize("transport", ["websocket", "http"])
async def test_a_vetoed_call_is_not_run_and_the_model_goes_on(transport: str) -> None:
    ran.clear()
    hooks = Recorder()
    async with scripted_server(SCRIPT) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            transport=transport,
            tools=[add, drop_table],
            hooks=[hooks],
            policy=None,
        ) as session:
            result = await session.run("Add 2 and 3, then drop the users table.")

    assert ran == ["add"], "the vetoed tool never ran"
    outputs = {o.call_id: o.output for o in result.items if isinstance(o, FunctionCallOutput)}
    assert outputs["call_0_0"] == "5"
    assert outputs["call_0_1"].startswith("vetoed by a hook: destructive database operations")
    assert result.final_text.startswith("2 + 3 = 5")
    assert result.status == "completed"

    log = hooks.log
    assert log[0] == "model> 1.1 scripted"
    assert log[-2] == "model> 2.1 scripted"
    assert log[-1] == "model< 2 completed []"
    tool_lines = sorted(line for line in log if line.startswith("tool"))
    assert tool_lines == [
        "tool< add 5",
        "tool< drop_table vetoed by a hook: de",
        'tool> add {"a":2,"b":3}',
        'tool> drop_table {"table":"users"}',
    ]
    # each tool's hooks run before its model call's "after" hook
    assert log.index("model< 1 completed ['add', 'drop_table']") > log.index("tool< add 5")


async def test_run_hooks_follow_session_hooks_and_apply_to_that_run_only() -> None:
    ran.clear()
    session_hooks, run_hooks = Recorder(), Recorder()

    class Never(Hooks):
        def before_tool_call(self, call: ToolCallInfo) -> Veto:
            return Veto("no tools in this run")

    async with scripted_server(SCRIPT + SCRIPT) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            tools=[add, drop_table],
            hooks=[session_hooks],
            policy=None,
        ) as session:
            await session.run("first", hooks=[Never()])
            assert ran == []  # every call vetoed, the first veto wins
            await session.run("second", hooks=[run_hooks])
    assert ran == ["add"]
    assert len([x for x in session_hooks.log if x.startswith("model>")]) == 4
    assert len([x for x in run_hooks.log if x.startswith("model>")]) == 2


async def test_a_failing_tool_hook_vetoes_the_call_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran.clear()

    class Wrong(Hooks):
        def before_tool_call(self, call: ToolCallInfo) -> Any:
            if call.name == "add":
                return False  # not None, not a Veto
            raise RuntimeError("hook bug")

    class Model(Hooks):
        def before_model_call(self, call: ModelCallInfo) -> None:
            if call.turn == 2:
                raise RuntimeError("model hook bug")

    async with scripted_server(SCRIPT) as server:
        async with AgentSession(
            "scripted", base_url=server.base_url, tools=[add, drop_table], policy=None
        ) as session:
            with caplog.at_level("WARNING", logger="responses_fast.hooks"):
                with pytest.raises(RuntimeError, match="model hook bug"):
                    await session.run("go", hooks=[Wrong(), Model()])
    assert ran == []
    outputs = [o.output for o in session.items if isinstance(o, FunctionCallOutput)]
    assert "return None or Veto" in outputs[0]
    assert "RuntimeError: hook bug" in outputs[1]
    failures = [r for r in caplog.records if "before_tool_call failed" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info for r in failures)


def test_hooks_must_be_hooks_instances() -> None:
    with pytest.raises(TypeError, match="Hooks instances"):
        AgentSession("scripted", base_url="http://127.0.0.1:1/v1", hooks=[object()])  # type: ignore[list-item]


async def test_session_hooks_and_deps_apply_to_runs_started_without_options() -> None:
    """``resume()`` (durable sessions) starts a run with no options: the session's own hooks
    and deps still apply."""
    seen: list[str] = []

    @tool
    def whoami(ctx: RunContext[str]) -> str:
        """Who is asking."""
        seen.append(ctx.deps)
        return ctx.deps

    hooks = Recorder()
    # resume() adds no user message, so its model items join the previous answer's turn: the
    # second script turn plays twice, and the tool output picks the alternative.
    call = {"type": "function_call", "name": "whoami", "arguments": {}}
    again = {"alternatives": [{"match": "ada", "output": ["Bye."]}, {"output": [call]}]}
    script = [["Hello."], again]
    async with scripted_server(script) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            tools=[whoami],
            hooks=[hooks],
            deps="ada",
            policy=None,
        ) as session:
            await session.run("hi")
            hooks.log.clear()
            result = await session.resume()
    assert result.final_text == "Bye."
    assert seen == ["ada"]
    assert [x for x in hooks.log if x.startswith("tool>")] == ["tool> whoami {}"]
