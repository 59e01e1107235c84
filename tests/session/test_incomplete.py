"""Responses cut short (``max_output_tokens``): the run ends "incomplete" with what was said,
complete calls run and are answered, a call whose arguments were cut never runs, and the log stays
valid for the next run (docs/reliability.md, "Incomplete responses").

Played by a raw HTTP server over loopback until the scripted server honours request limits.
"""

from __future__ import annotations

from typing import Any

import pytest
from raw_responses_server import raw_server, response_events

from responses_fast.protocol.items import FunctionCall, FunctionCallOutput
from responses_fast.session import AgentSession
from responses_fast.tools import tool

pytestmark = pytest.mark.anyio


def call(cid: str, args: str, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{cid}",
        "call_id": cid,
        "name": "add",
        "arguments": args,
        "status": status,
    }


def text(t: str, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": t, "annotations": []}],
    }


async def test_incomplete_response_ends_the_run_runs_whole_calls_and_skips_cut_ones() -> None:
    ran: list[tuple[int, int]] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        ran.append((a, b))
        return a + b

    cut = response_events(
        "resp_1",
        [text("Adding both"), call("c1", '{"a":1,"b":2}'), call("c2", '{"a":3,', "incomplete")],
        status="incomplete",
        reason="max_output_tokens",
    )
    script = [cut, response_events("resp_2", [text("Continuing.")])]
    with raw_server(script) as server:
        async with AgentSession(
            "gpt-5.1",
            tools=[add],
            base_url=server.url,
            transport="http",
            api_key="k",
            policy=None,
        ) as session:
            result = await session.run("add things")
            assert len(server.requests) == 1  # the run stopped at the incomplete response
            assert result.status == "incomplete"
            assert result.incomplete_reason == "max_output_tokens"
            assert result.final_text == "Adding both"
            assert ran == [(1, 2)]  # the cut call c2 never ran
            calls = [i.call_id for i in result.items if isinstance(i, FunctionCall)]
            outputs = [
                (i.call_id, i.output) for i in result.items if isinstance(i, FunctionCallOutput)
            ]
            assert calls == ["c1"] and outputs == [("c1", "3")]
            assert session.log.dangling_calls() == []

            again = await session.run("go on")
    assert again.status == "completed" and again.final_text == "Continuing."
    sent = server.requests[1]["input"]
    ids = [i.get("call_id") for i in sent if i["type"].startswith("function_call")]
    assert ids == ["c1", "c1"]  # the call and its output; nothing of the cut call
