"""Property: for any short sequence of network faults, a run completes (or fails with
RetriesExhausted once the budget is spent) and nothing runs or is delivered twice (issue 8)."""

from __future__ import annotations

import os
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responses_fast.config import RetryPolicy, Timeouts
from responses_fast.errors import RetriesExhausted
from responses_fast.session import AgentSession
from responses_fast.testing import (
    CountingTools,
    FaultProxy,
    ProxyFault,
    check_context,
    event,
    item_log_problems,
    scripted_server,
)
from responses_fast.transports.factory import TRANSPORT_NAMES

TRANSPORTS = [t for t in ("websocket", "http", "chat") if t in TRANSPORT_NAMES]
RETRY = RetryPolicy(initial_delay=0.005, max_delay=0.02, max_attempts=5)


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


SCRIPT: list[Any] = [
    [fc("write_file", path="a", text="1"), fc("slow", tag="x", seconds=0.02)],
    [fc("write_file", path="b", text="2")],
    [fc("write_file", path="c", text="3"), fc("read_file", path="a")],
    ["finished"],
]

PATTERNS = {
    "responses": [event(t) for t in ("response.created", "response.output_item.added",
                                     "response.output_item.done", "response.completed",
                                     "response.function_call_arguments.delta")],
    "chat": [b"text/event-stream", b'"tool_calls"', b'"finish_reason"', b"[DONE]"],
}


@st.composite
def faults(draw: st.DrawFn, transport: str) -> ProxyFault | None:
    patterns = PATTERNS["chat" if transport == "chat" else "responses"]
    kind = draw(st.sampled_from(["none", "before", "after", "half", "refuse", "bytes"]))
    pattern = draw(st.sampled_from(patterns))
    n = draw(st.integers(1, 3))
    if kind == "before":
        return ProxyFault.drop(before=pattern, occurrence=n, reset=draw(st.booleans()))
    if kind == "after":
        return ProxyFault.drop(after=pattern, occurrence=n)
    if kind == "half":
        return ProxyFault.half_frame(pattern, occurrence=n)
    if kind == "refuse":
        return ProxyFault.refuse()
    if kind == "bytes":
        return ProxyFault.drop(after_bytes=draw(st.integers(0, 4000)))
    return None


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[ProxyFault | None]]:
    transport = draw(st.sampled_from(TRANSPORTS))
    return transport, draw(st.lists(faults(transport), max_size=4))


async def one_run(transport: str, plan: list[ProxyFault | None]) -> None:
    tools = CountingTools()
    async with scripted_server(SCRIPT) as server, FaultProxy(server.port) as proxy:
        proxy.plan(*plan)
        async with AgentSession(
            "scripted", tools=tools.tools(), base_url=proxy.base_url, api_key="sk-x",
            transport=transport, retry=RETRY, timeouts=Timeouts(connect=2, read=2, close=0.2),
        ) as session:
            try:
                result = await session.run("go")
            except RetriesExhausted as exc:
                assert exc.__cause__ is not None
            else:
                # A drop after the final message was logged makes the retry continue past the
                # script's end: the model saw its answer already. Either way the run completed.
                assert result.status == "completed"
                assert result.final_text in ("finished", "(script ended)")
            items = session.items
    assert tools.twice() == [], (plan, tools.executions)
    assert item_log_problems(items) == []
    # Every execution is accounted for by exactly one call in the log, and vice versa.
    logged_calls = [i for i in items if getattr(i, "type", None) == "function_call"]
    assert sum(tools.executions.values()) == len(logged_calls), plan
    for ctx in proxy.contexts():
        assert check_context(ctx) == [], plan


@settings(max_examples=int(os.environ.get("RF_FUZZ_EXAMPLES", "25")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_any_fault_sequence_keeps_exactly_once(case: tuple[str, list[ProxyFault | None]]) -> None:
    transport, plan = case
    anyio.run(bounded, transport, plan)


async def bounded(transport: str, plan: list[ProxyFault | None]) -> None:
    with anyio.fail_after(20):
        await one_run(transport, plan)
