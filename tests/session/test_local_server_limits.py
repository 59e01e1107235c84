"""The client against the local server's request limits, custom tool calls and compaction (issue
13 points 2-4), on every transport. Skipped until the server that emits them is merged (its
``responses_fast.server.limits`` module); until then the same cases run against a raw server in
test_custom_tools.py, test_incomplete.py and test_compaction.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("responses_fast.server.limits", reason="server without request limits yet")

from responses_fast import ContextCompacted, RemoteCompaction, tool
from responses_fast.cache import BudgetPolicy
from responses_fast.protocol.items import CustomToolCallOutput, FunctionCall
from responses_fast.server import serve
from responses_fast.session import AgentSession
from responses_fast.tools.builtin import coding_tools

pytestmark = pytest.mark.anyio

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+Hello world\n*** End Patch\n"
RESPONSES = ["websocket", "http"]

ran: list[tuple[int, int]] = []


@tool
def add(a: int, b: int) -> int:
    """Add."""
    ran.append((a, b))
    return a + b


@tool
def dump(n: int) -> str:
    """Return a large block of text."""
    return f"block {n}: " + ("lorem ipsum dolor sit amet " * 120)


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


SCRIPTS = {
    "patch": [[{"type": "custom_tool_call", "name": "apply_patch", "input": PATCH}], ["patched"]],
    "cut": [
        [
            {"type": "message", "text": "Adding the two pairs of numbers now."},
            fc("add", a=1, b=2),
            fc("add", a=300000000, b=400000000),
        ],
        ["after"],
    ],
    "compact": [[fc("dump", n=i)] for i in range(6)] + [["summarised"]],
}


@pytest.mark.parametrize("transport", RESPONSES)
async def test_a_scripted_custom_apply_patch_call_runs_and_is_answered(
    transport: str, tmp_path: Path
) -> None:
    async with serve(scripts=SCRIPTS, tokens_per_second=None) as server, AgentSession(
        "scripted:patch", tools=coding_tools(tmp_path), base_url=server.base_url, api_key="k",
        transport=transport, policy=None,
    ) as session:  # fmt: skip
        result = await session.run("patch it")
    assert result.final_text == "patched"
    assert (tmp_path / "hello.txt").read_text() == "Hello world\n"
    assert [type(i) for i in result.items].count(CustomToolCallOutput) == 1


@pytest.mark.parametrize(
    ("transport", "limit"),
    [
        ("websocket", "max_output_tokens"),
        ("http", "max_output_tokens"),
        ("chat", "max_completion_tokens"),
    ],
)
async def test_a_response_cut_by_its_output_limit_ends_the_run_incomplete(
    transport: str, limit: str
) -> None:
    ran.clear()
    async with serve(scripts=SCRIPTS, tokens_per_second=None) as server, AgentSession(
        "scripted:cut", tools=[add], base_url=server.base_url, api_key="k", transport=transport,
        policy=None, settings={limit: 16},
    ) as session:  # fmt: skip
        result = await session.run("cut")
    assert result.status == "incomplete" and result.incomplete_reason == "max_output_tokens"
    assert result.final_text == "Adding the two pairs of numbers now."
    assert ran == [(1, 2)]  # the call cut in the middle of its arguments never ran
    assert session.log.dangling_calls() == []
    calls = [i for i in result.items if isinstance(i, FunctionCall)]
    # Responses marks the cut call incomplete and it is not logged; Chat marks nothing, so the
    # cut call is logged and answered with an "invalid arguments" error instead of running.
    assert len(calls) == (2 if transport == "chat" else 1)


@pytest.mark.parametrize("transport", RESPONSES)
async def test_the_local_server_compacts_and_the_script_continues(transport: str) -> None:
    seen: list[ContextCompacted] = []
    async with serve(scripts=SCRIPTS, tokens_per_second=None) as server, AgentSession(
        "scripted:compact", tools=[dump], base_url=server.base_url, api_key="k",
        transport=transport, policy=None, context_window=4000,
        budget_policy=BudgetPolicy(keep_recent_turns=2, correction="none"),
        compaction=RemoteCompaction(),
    ) as session:  # fmt: skip
        async with session.stream("dump") as events:
            async for e in events:
                if isinstance(e, ContextCompacted):
                    seen.append(e)
    assert events.result is not None and events.result.final_text == "summarised"
    assert seen and seen[0].items_after < seen[0].items_before
    assert any(r.endpoint == "compact" for r in server.requests)
