"""Tool context (issue 14, feature 2): ``RunContext[Deps]`` reaches tools, never the schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from responses_fast import AgentSession, RunContext, tool
from responses_fast.protocol.items import FunctionCall
from responses_fast.testing import scripted_server

pytestmark = pytest.mark.anyio


@dataclass
class Deps:
    user: str
    seen: list[tuple[str, str, int, str]] = field(default_factory=list)


@tool
async def whoami(ctx: RunContext[Deps], greeting: str) -> str:
    """Greet the current user.

    Args:
        greeting: the word to greet with
    """
    ctx.deps.seen.append((ctx.call_id, ctx.tool_name, ctx.turn, ctx.run_id))
    assert isinstance(ctx.session, AgentSession)
    assert len(ctx.session.items) >= 2  # the prompt and this call at least
    return f"{greeting}, {ctx.deps.user}"


@tool
def count_items(context: RunContext[Deps]) -> int:
    """A sync tool (it runs in a worker thread) with a context."""
    context.deps.seen.append((context.call_id, context.tool_name, context.turn, context.run_id))
    return len(context.arguments)


def script(sync_call_id: str) -> list[Any]:
    return [
        [
            {"type": "function_call", "name": "whoami", "arguments": {"greeting": "Hello"}},
            {
                "type": "function_call",
                "name": "count_items",
                "arguments": {},
                "call_id": sync_call_id,
            },
        ],
        ["Done."],
    ]


def test_the_context_parameter_is_not_in_the_schema() -> None:
    schema = whoami.schema()["parameters"]
    assert list(schema["properties"]) == ["greeting"]
    assert schema["required"] == ["greeting"]
    assert whoami.context_param == "ctx"
    assert count_items.schema()["parameters"]["properties"] == {}
    assert count_items.context_param == "context"


@pytest.mark.parametrize("transport", ["websocket", "chat"])
async def test_tools_receive_deps_call_id_and_session(transport: str) -> None:
    session_deps = Deps("session-user")
    run_deps = Deps("run-user")
    async with scripted_server(script("c_sync") + script("c_sync2")) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            transport=transport,
            tools=[whoami, count_items],
            deps=session_deps,
            policy=None,
        ) as session:
            first = await session.run("Who am I?")
            second = await session.run("And now?", deps=run_deps)

    outputs = [o.output for o in first.items if getattr(o, "type", "") == "function_call_output"]
    assert outputs[0] == "Hello, session-user"
    assert outputs[1] == "2"  # the raw argument string "{}"
    calls = {c.name: c.call_id for c in first.items if isinstance(c, FunctionCall)}
    by_tool = {name: (cid, turn, rid) for cid, name, turn, rid in session_deps.seen}
    assert by_tool["whoami"][0] == calls["whoami"]
    assert by_tool["count_items"][0] == "c_sync"
    assert {t for _, t, _ in by_tool.values()} == {1}
    # run-level deps override the session's; each run has its own id
    assert sorted(name for _, name, _, _ in run_deps.seen) == ["count_items", "whoami"]
    assert len(session_deps.seen) == 2
    assert second.final_text == "Done."
    second_out = [
        o.output for o in second.items if getattr(o, "type", "") == "function_call_output"
    ]
    assert second_out[0] == "Hello, run-user"
    assert {rid for *_, rid in run_deps.seen}.isdisjoint({rid for *_, rid in session_deps.seen})


async def test_a_context_tool_called_without_a_context_gets_a_clear_error() -> None:
    result = await whoami.invoke('{"greeting": "hi"}')
    assert result.is_error and "needs a RunContext" in result.output


def test_two_context_parameters_are_refused() -> None:
    def both(a: RunContext[Any], b: RunContext[Any]) -> str:
        return ""

    with pytest.raises(TypeError, match="more than one RunContext"):
        tool(both)
