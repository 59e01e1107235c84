"""Faults between the session and the server: nothing runs twice, nothing is lost (issue 8).

Each test drives a real AgentSession through the FaultProxy (network faults) or the local server's
script faults (API errors), and then checks the three invariants:

1. every tool call ran exactly once (the tools count their real executions);
2. every request the model received carried each tool output at most once, after its call
   (the proxy's wire log rebuilds each request's full context);
3. the session's item log is consistent: each function_call has exactly one output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from responses_fast.config import RetryPolicy, Timeouts
from responses_fast.errors import ConnectionLost, RateLimitError, RetriesExhausted, ServerError
from responses_fast.session import AgentSession, Reconnected, RunResult
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

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=4)
KEY = "sk-reliability-test-key-000000000000"
TRANSPORTS = [t for t in ("websocket", "http", "chat") if t in TRANSPORT_NAMES]


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


# Turn 0 writes a.txt and reads it (two parallel calls), turn 1 writes b.txt, turn 2 answers.
SCRIPT: list[Any] = [
    [fc("write_file", path="a.txt", text="A"), fc("read_file", path="a.txt")],
    [fc("write_file", path="b.txt", text="B")],
    ["All done."],
]


def session(
    base_url: str, tools: CountingTools, transport: str, **kw: Any
) -> AgentSession:
    kw.setdefault("retry", FAST)
    kw.setdefault("timeouts", Timeouts(connect=2, read=2, close=0.5))
    return AgentSession(
        "scripted",
        tools=tools.tools(),
        instructions="reliability test",
        base_url=base_url,
        api_key=KEY,
        transport=transport,
        **kw,
    )


def assert_invariants(
    tools: CountingTools, items: Sequence[Any], proxy: FaultProxy | None = None
) -> None:
    assert tools.twice() == [], f"tools ran more than once: {tools.executions}"
    assert item_log_problems(items) == []
    if proxy is not None:
        contexts = proxy.contexts()
        assert contexts, "the proxy saw no request"
        for ctx in contexts:
            assert check_context(ctx) == []


def turn_start(transport: str, turn: int) -> bytes:
    """Pattern of the first unit of a turn's response on a connection (and its occurrence)."""
    return event("response.created") if transport != "chat" else b"text/event-stream"


def occurrence(transport: str, turn: int) -> int:
    # run() follows the session's start at once, so no warm-up response comes first.
    return turn


def mid_stream(transport: str) -> bytes:
    """A unit in the middle of turn 1: right after the first call is complete."""
    return event("response.output_item.done") if transport != "chat" else b'"tool_calls"'


def terminal(transport: str) -> bytes:
    return event("response.completed") if transport != "chat" else b"[DONE]"


async def run_through(
    proxy_faults: Sequence[ProxyFault | None],
    transport: str,
    script: Any = SCRIPT,
    *,
    warm_first: bool = False,
    **kw: Any,
) -> tuple[RunResult, CountingTools, FaultProxy, AgentSession]:
    tools = CountingTools()
    async with scripted_server(script) as server, FaultProxy(server.port) as proxy:
        proxy.plan(*proxy_faults)
        async with session(proxy.base_url, tools, transport, **kw) as s:
            if warm_first:  # stay idle until the warm-up request is on the wire
                with anyio.fail_after(5):
                    while s.transport.stats.requests == 0:  # noqa: ASYNC110 - external state
                        await anyio.sleep(0.005)
            result = await s.run("write the files")
    return result, tools, proxy, s


def all_written(tools: CountingTools) -> None:
    assert tools.executions["write_file:a.txt"] == 1
    assert tools.executions["write_file:b.txt"] == 1
    assert tools.files["a.txt"] == "A" and tools.files["b.txt"] == "B"


# --------------------------------------------------------------------------- clean baseline


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_clean_run_through_the_proxy(transport: str) -> None:
    result, tools, proxy, _ = await run_through([], transport)
    assert result.final_text == "All done."
    assert dict(tools.executions) == {
        "write_file:a.txt": 1, "read_file:a.txt": 1, "write_file:b.txt": 1,
    }
    assert_invariants(tools, result.items, proxy)
    assert proxy.fired == []
    contexts = proxy.contexts()
    assert len(contexts) == 3
    # The wire log rebuilt the chain: the last request's context holds all three outputs.
    outputs = [i["call_id"] for i in contexts[-1] if i.get("type") == "function_call_output"]
    assert len(outputs) == 3


def test_context_checker_catches_duplicates() -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}
    out = {"type": "function_call_output", "call_id": "c1", "output": "x"}
    assert check_context([call, out]) == []
    assert check_context([call, out, out]) == ["output of c1 twice"]
    assert check_context([out, call]) == ["output of c1 before its call"]
    assert check_context([call, call, out]) == ["function_call c1 twice"]


# --------------------------------------------------------------------------- connection drops


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_drop_before_the_response(transport: str, reset: bool) -> None:
    """The request reached the server, no byte of its response came back."""
    fault = ProxyFault.drop(
        before=turn_start(transport, 2), occurrence=occurrence(transport, 2), reset=reset
    )
    result, tools, proxy, _ = await run_through([fault], transport)
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    assert result.turns[1].attempts == 2
    all_written(tools)
    assert tools.executions["read_file:a.txt"] == 1
    assert_invariants(tools, result.items, proxy)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_drop_mid_stream_after_a_call_completed(transport: str) -> None:
    """Turn 1 dies after its first call arrived: that call runs once, its output is replayed."""
    result, tools, proxy, _ = await run_through(
        [ProxyFault.drop(after=mid_stream(transport))], transport
    )
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    assert tools.twice() == []
    assert tools.executions["write_file:b.txt"] == 1
    assert_invariants(tools, result.items, proxy)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_drop_while_a_tool_is_running(transport: str) -> None:
    """The stream dies while a started tool still runs: the tool finishes, its output is logged
    before the retry, and the retry carries it instead of running it again."""
    script: list[Any] = [
        [fc("slow", tag="s", seconds=0.3), fc("write_file", path="a.txt", text="A")],
        [fc("write_file", path="b.txt", text="B")],
        ["All done."],
    ]
    result, tools, proxy, _ = await run_through(
        [ProxyFault.drop(after=mid_stream(transport))], transport, script=script
    )
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    assert tools.executions["slow:s"] == 1
    assert tools.executions["write_file:b.txt"] == 1
    assert_invariants(tools, result.items, proxy)
    slow_outputs = [
        i for ctx in proxy.contexts()[-1:] for i in ctx
        if i.get("type") == "function_call_output" and "slow s done" in str(i.get("output"))
    ]
    assert len(slow_outputs) == 1


@pytest.mark.parametrize("code", [1006, 1011, 1012])
async def test_server_closes_the_socket_mid_stream(code: int) -> None:
    script = [
        SCRIPT[0],
        {"output": SCRIPT[1], "fault": {"kind": "close", "after_events": 3, "code": code}},
        SCRIPT[2],
    ]
    tools = CountingTools()
    async with scripted_server(script) as server, FaultProxy(server.port) as proxy, session(
        proxy.base_url, tools, "websocket"
    ) as s:
        result = await s.run("go")
    assert result.final_text == "All done."
    assert result.turns[1].attempts == 2
    all_written(tools)
    assert_invariants(tools, result.items, proxy)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_drop_right_after_the_terminal_event(transport: str) -> None:
    """The response arrived whole, then the connection died: the next turn reconnects."""
    fault = ProxyFault.drop(after=terminal(transport), occurrence=1)
    result, tools, proxy, _ = await run_through([fault], transport)
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    all_written(tools)
    assert_invariants(tools, result.items, proxy)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_half_written_frame(transport: str) -> None:
    """Half a WebSocket frame (half an SSE chunk), then the connection closes."""
    fault = ProxyFault.half_frame(mid_stream(transport), occurrence=2)
    result, tools, proxy, _ = await run_through([fault], transport)
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    assert_invariants(tools, result.items, proxy)
    assert tools.executions["write_file:b.txt"] == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connection_refused_then_accepted(transport: str) -> None:
    result, tools, proxy, _ = await run_through([ProxyFault.refuse()], transport)
    assert result.final_text == "All done."
    all_written(tools)
    assert_invariants(tools, result.items, proxy)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_stalled_stream_longer_than_the_read_timeout(transport: str) -> None:
    fault = ProxyFault.stall(
        5.0, after=mid_stream(transport), then="drop"
    )
    with anyio.fail_after(10):
        result, tools, proxy, _ = await run_through(
            [fault], transport, timeouts=Timeouts(connect=2, read=0.3, close=0.2)
        )
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    assert_invariants(tools, result.items, proxy)
    assert tools.executions["write_file:b.txt"] == 1


@pytest.mark.parametrize(
    "fault",
    [
        ProxyFault.stall(5.0, before=event("response.created"), then="drop"),
        ProxyFault.drop(before=event("response.completed")),
    ],
    ids=["stall", "drop"],
)
async def test_websocket_warmup_fails(fault: ProxyFault) -> None:
    """The warm-up (generate: false) on connect stalls or dies: the first turn still runs once."""
    with anyio.fail_after(10):
        result, tools, proxy, _ = await run_through(
            [fault], "websocket", warm_first=True,
            timeouts=Timeouts(connect=2, read=0.3, close=0.2),
        )
    assert len(proxy.fired) == 1
    assert result.final_text == "All done."
    all_written(tools)
    assert_invariants(tools, result.items, proxy)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_server_stall_fault_hits_read_timeout(transport: str) -> None:
    script = [
        {"output": SCRIPT[0], "fault": {"kind": "stall", "after_events": 2, "seconds": 1.0}},
        *SCRIPT[1:],
    ]
    tools = CountingTools()
    async with scripted_server(script) as server, session(
        server.base_url, tools, transport, timeouts=Timeouts(connect=2, read=0.25, close=0.2)
    ) as s:
        with anyio.fail_after(10):
            result = await s.run("go")
    assert result.final_text == "All done."
    assert result.turns[0].attempts == 2
    all_written(tools)
    assert_invariants(tools, result.items)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_every_connection_dropped_fails_with_a_clear_error(transport: str) -> None:
    tools = CountingTools()
    async with scripted_server(SCRIPT) as server, FaultProxy(server.port) as proxy:
        proxy.always(ProxyFault.drop(after=mid_stream(transport)))
        async with session(proxy.base_url, tools, transport) as s:
            with pytest.raises(RetriesExhausted) as info:
                await s.run("go")
            items = s.items
    assert info.value.attempts == FAST.max_attempts
    assert isinstance(info.value.__cause__, ConnectionLost)
    generating = [r for r in server.requests if r.generate]
    assert len(generating) == FAST.max_attempts
    assert_invariants(tools, items, proxy)


# --------------------------------------------------------------------------- API errors

ERRORS = [
    pytest.param({"kind": "http_status", "status": 429}, id="429"),
    pytest.param({"kind": "http_status", "status": 429, "retry_after": 0.2}, id="429-retry-after"),
    pytest.param({"kind": "http_status", "status": 500}, id="500"),
    pytest.param({"kind": "http_status", "status": 503, "retry_after": 0.1}, id="503-retry-after"),
    pytest.param({"kind": "error", "status": 500, "after_events": 4}, id="500-mid-stream"),
    pytest.param({"kind": "error", "status": 503, "after_events": 0}, id="503-error-event"),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fault", ERRORS)
async def test_server_errors_are_retried(transport: str, fault: dict[str, Any]) -> None:
    script = [SCRIPT[0], {"output": SCRIPT[1], "fault": {**fault, "times": 2}}, SCRIPT[2]]
    tools = CountingTools()
    reconnects: list[Reconnected] = []
    async with scripted_server(script) as server, FaultProxy(server.port) as proxy, session(
        proxy.base_url, tools, transport
    ) as s:
        async with s.stream("go") as events:
            async for e in events:
                if isinstance(e, Reconnected):
                    reconnects.append(e)
        result = events.result
    assert result is not None and result.final_text == "All done."
    assert result.turns[1].attempts == 3
    assert len(reconnects) == 2
    retry_after = fault.get("retry_after")
    if retry_after is not None:
        assert all(r.delay == pytest.approx(retry_after) for r in reconnects)
    all_written(tools)
    assert_invariants(tools, result.items, proxy)
    faulted = [r for r in server.requests if r.fault is not None]
    assert len(faulted) == 2


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_persistent_server_error_exhausts_retries(transport: str) -> None:
    script = [{"output": SCRIPT[0], "fault": {"kind": "http_status", "status": 500,
                                              "times": 100}}]
    tools = CountingTools()
    async with scripted_server(script) as server, session(server.base_url, tools, transport) as s:
        with pytest.raises(RetriesExhausted) as info:
            await s.run("go")
    assert info.value.attempts == FAST.max_attempts
    assert isinstance(info.value.__cause__, ServerError)
    assert sum(tools.executions.values()) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_retry_after_longer_than_allowed_is_not_retried(transport: str) -> None:
    script = [{"output": SCRIPT[0], "fault": {"kind": "http_status", "status": 429,
                                              "retry_after": 3600}}]
    tools = CountingTools()
    async with scripted_server(script) as server, session(server.base_url, tools, transport) as s:
        with anyio.fail_after(5), pytest.raises(RateLimitError) as info:
            await s.run("go")
    assert info.value.retry_after == pytest.approx(3600)


# --------------------------------------------------------------------------- lost server state


async def test_websocket_lifetime_limit_costs_one_retry() -> None:
    """The server closes a socket at its age limit (websocket_connection_limit_reached): one
    retry on a fresh socket with the full context must be enough."""
    script: list[Any] = [
        [fc("slow", tag="t0", seconds=0.3)],
        [fc("write_file", path="a.txt", text="A")],
        [fc("slow", tag="t2", seconds=0.3)],
        [fc("write_file", path="b.txt", text="B")],
        ["All done."],
    ]
    tools = CountingTools()
    two = RetryPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=2)
    async with scripted_server(script, max_connection_age=0.25) as server, session(
        server.base_url, tools, "websocket", retry=two
    ) as s:
        reasons: list[str] = []
        async with s.stream("go") as events:
            async for e in events:
                if isinstance(e, Reconnected):
                    reasons.append(e.reason)
        result = events.result
    assert result is not None and result.final_text == "All done."
    limited = [r for r in reasons if "websocket_connection_limit_reached" in r]
    assert limited, "the age limit never hit: the test needs slower turns"
    assert server.statistics().connections_opened >= 2
    assert all(t.attempts <= 2 for t in result.turns)
    all_written(tools)
    assert_invariants(tools, result.items)


async def test_websocket_server_forgot_the_chain() -> None:
    """store=false and the server's connection cache evicted the response the session continues:
    previous_response_not_found, then the full context on the same socket."""
    tools = CountingTools()
    async with scripted_server(SCRIPT) as server, FaultProxy(server.port) as proxy, session(
        proxy.base_url, tools, "websocket"
    ) as s:
        server.state.config.connection_cache_size = 0
        result = await s.run("go")
    assert result.final_text == "All done."
    not_found = [r for r in server.requests if r.error_code == "previous_response_not_found"]
    assert not_found
    assert all(t.attempts == 2 for t in result.turns if t.attempts > 1)
    all_written(tools)
    assert_invariants(tools, result.items, proxy)


RESTART_SCRIPT: list[Any] = [
    *SCRIPT,
    [fc("write_file", path="c.txt", text="C")],
    ["Second run done."],
]


@pytest.mark.parametrize(
    ("transport", "store"),
    [(t, store) for t in TRANSPORTS for store in (False, True) if t != "chat" or not store],
)
async def test_server_restarted_between_runs(transport: str, store: bool) -> None:
    """A new server process knows none of the old response ids: an unknown
    previous_response_id (HTTP with store) or a dead socket (WebSocket) costs at most one retry
    and the full context is resent; no tool runs again."""
    tools = CountingTools()
    async with scripted_server(RESTART_SCRIPT) as first, scripted_server(
        RESTART_SCRIPT
    ) as second, FaultProxy(first.port) as proxy:
        async with session(proxy.base_url, tools, transport, store=store) as s:
            r1 = await s.run("write a and b")
            assert r1.final_text == "All done."
            proxy.retarget(second.port)
            await proxy.drop_all()
            r2 = await s.run("now c")
            items = s.items
    assert r2.final_text == "Second run done."
    assert r2.turns[0].attempts <= 2
    assert tools.executions["write_file:c.txt"] == 1
    all_written(tools)
    assert_invariants(tools, items, proxy)
    errors = [r.error_code for r in second.requests if r.error_code]
    assert set(errors) <= {"previous_response_not_found"}
    if transport == "http" and store:
        assert errors == ["previous_response_not_found"]
    if transport == "websocket":
        # A new socket never continues a response of another socket: no foreign id is sent.
        assert errors == []
    # The new server received the whole conversation exactly once per call.
    last = [r for r in second.requests if r.generate and r.status == "completed"][-1]
    assert last.context_items >= len(items) - 1
