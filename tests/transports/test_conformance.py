"""One conformance suite, every transport: WebSocket, HTTP/SSE (store off and on), Chat
Completions and Cerebras (the real cerebras-cloud-sdk), against the local server over loopback.

Everything is asserted through order (events, server records, tool logs), never durations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from responses_fast.config import RetryPolicy
from responses_fast.errors import RetriesExhausted, ServerError
from responses_fast.server import LocalServer, RequestRecord, serve
from responses_fast.session import AgentSession
from responses_fast.session.events import (
    Event,
    Reconnected,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from responses_fast.tools.spec import Tool, tool
from responses_fast.transports.base import Transport
from responses_fast.transports.cerebras import CerebrasTransport
from responses_fast.transports.chat_completions import ChatCompletionsTransport
from responses_fast.transports.http_sse import HttpSseTransport
from responses_fast.transports.websocket import WebSocketTransport

pytestmark = pytest.mark.anyio

#: (transport name, store) for every transport under test.
TRANSPORTS = [
    pytest.param("websocket", False, id="websocket"),
    pytest.param("http", False, id="http-store-false"),
    pytest.param("http", True, id="http-store-true"),
    pytest.param("chat", False, id="chat"),
    pytest.param("cerebras", False, id="cerebras"),
    pytest.param("cerebras-create", False, id="cerebras-create"),
]
ENDPOINT = {
    "websocket": "ws",
    "http": "http",
    "chat": "chat",
    "cerebras": "chat",
    "cerebras-create": "chat",
}
FAST_RETRY = RetryPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)


def call(tool_name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": tool_name, "arguments": arguments}


def text(value: str) -> dict[str, Any]:
    return {"type": "message", "text": value}


LOOP = [
    [call("read_file", path="a.py")],
    [call("read_file", path="b.py"), call("read_file", path="c.py")],
    [call("write_file", path="a.py", content="fixed")],
    [text("Fixed the bug in a.py.")],
]


@dataclass
class Recorder:
    """Tools that log what ran, in order."""

    log: list[tuple[str, str]] = field(default_factory=list)

    def tools(self) -> list[Tool]:
        @tool
        async def read_file(path: str) -> str:
            """Read a file."""
            self.log.append(("read_file", path))
            return f"contents of {path}"

        @tool
        async def write_file(path: str, content: str) -> str:
            """Write a file."""
            self.log.append(("write_file", path))
            return f"wrote {len(content)} bytes to {path}"

        return [read_file, write_file]


def session(
    server: LocalServer,
    transport: str | Transport,
    tools: list[Tool],
    *,
    store: bool = False,
    retry: RetryPolicy | None = None,
) -> AgentSession:
    if transport == "cerebras-create":  # the SDK's typed create() instead of pre-joined bytes
        transport = CerebrasTransport(api_key="sk-test", base_url=server.base_url, body="create")
    return AgentSession(
        model="scripted",
        transport=transport,
        base_url=server.base_url,
        api_key="sk-test",
        tools=tools,
        store=store,
        retry=retry,
    )


async def collect(s: AgentSession, prompt: str) -> tuple[list[Event], Any]:
    events: list[Event] = []
    async with s.stream(prompt) as stream:
        async for event in stream:
            events.append(event)
    return events, stream.result


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with serve(LOOP, tokens_per_second=None) as srv:
        yield srv


def records(server: LocalServer, kind: str) -> list[RequestRecord]:
    return [r for r in server.requests if r.endpoint == ENDPOINT[kind] and r.generate]


# ------------------------------------------------------------------------------- the agent loop


@pytest.mark.parametrize(("kind", "store"), TRANSPORTS)
async def test_scripted_loop_same_result_on_every_transport(
    server: LocalServer, kind: str, store: bool
) -> None:
    rec = Recorder()
    async with session(server, kind, rec.tools(), store=store) as s:
        assert s.transport.name == kind.split("-")[0]
        result = await s.run("Fix the bug in a.py")
    assert result.final_text == "Fixed the bug in a.py."
    assert result.status == "completed"
    assert rec.log == [
        ("read_file", "a.py"),
        ("read_file", "b.py"),
        ("read_file", "c.py"),
        ("write_file", "a.py"),
    ]
    assert result.tool_calls == 4
    assert len(result.turns) == 4
    assert all(t.attempts == 1 for t in result.turns)
    assert [r.status for r in records(server, kind)] == ["completed"] * 4
    if kind != "cerebras-create":  # the SDK's own stream closes each body unfinished
        conns = {r.connection_id for r in records(server, kind)}
        assert len(conns) == 1, f"one kept-alive connection for the whole run, got {conns}"


async def test_transport_instances_are_accepted(server: LocalServer) -> None:
    """A Transport object built by hand works like its name (Cerebras: the SDK's root URL)."""
    instances: list[Transport] = [
        WebSocketTransport(server.base_url, "sk-test"),
        HttpSseTransport(server.base_url, "sk-test", store=True),
        ChatCompletionsTransport(server.base_url, "sk-test"),
        CerebrasTransport(api_key="sk-test", base_url=server.root_url),
    ]
    texts = []
    for transport in instances:
        rec = Recorder()
        async with session(server, transport, rec.tools()) as s:
            texts.append((await s.run("Fix the bug in a.py")).final_text)
        assert len(rec.log) == 4
    assert texts == ["Fixed the bug in a.py."] * 4


# ------------------------------------------------------------------------------ pipelined tools


@pytest.mark.parametrize(("kind", "store"), TRANSPORTS)
async def test_parallel_calls_overlap(kind: str, store: bool) -> None:
    """Both calls of one turn are running at once: each waits until the other has started."""
    script = [[call("probe", label="a"), call("probe", label="b")], [text("done")]]
    spans: list[tuple[str, str]] = []
    both_started = anyio.Event()
    started = 0

    @tool
    async def probe(label: str) -> str:
        """Wait for the sibling call."""
        nonlocal started
        spans.append(("start", label))
        started += 1
        if started == 2:
            both_started.set()
        with anyio.fail_after(10):  # a guard against a hang, not a timing assertion
            await both_started.wait()
        spans.append(("end", label))
        return label

    async with serve(script, tokens_per_second=None) as srv:
        async with session(srv, kind, [probe], store=store) as s:
            result = await s.run("go")
    assert result.final_text == "done"
    assert [what for what, _ in spans] == ["start", "start", "end", "end"]
    assert {label for _, label in spans} == {"a", "b"}


@pytest.mark.parametrize(("kind", "store"), TRANSPORTS)
async def test_tool_starts_before_the_stream_ends(kind: str, store: bool) -> None:
    """A call followed by a long message: the tool starts while the message still streams."""
    long_text = "word " * 160  # 200 tokens of 4 chars: the stream goes on well after the call
    script = [[call("read_file", path="a.py"), text(long_text)], [text("done")]]
    rec = Recorder()
    async with serve(script, tokens_per_second=1000, ttft=0) as srv:
        async with session(srv, kind, rec.tools(), store=store) as s:
            events, result = await collect(s, "go")
    assert result.final_text == "done"
    turn1 = [e for e in events if getattr(e, "turn", None) == 1]
    started = next(i for i, e in enumerate(turn1) if isinstance(e, ToolCallStarted))
    deltas = [i for i, e in enumerate(turn1) if isinstance(e, TextDelta)]
    finished = next(i for i, e in enumerate(turn1) if isinstance(e, TurnFinished))
    assert len(deltas) > 20
    assert started < deltas[-1] < finished
    assert any(isinstance(e, ToolCallFinished) for e in turn1[:finished])


# ------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("kind", "store"), TRANSPORTS)
async def test_rate_limit_with_retry_after_is_retried(kind: str, store: bool) -> None:
    fault = {"kind": "http_status", "status": 429, "retry_after": 0.01, "times": 1}
    script = [{"output": [call("read_file", path="a.py")], "fault": fault}, [text("done")]]
    rec = Recorder()
    async with serve(script, tokens_per_second=None) as srv:
        async with session(srv, kind, rec.tools(), store=store, retry=FAST_RETRY) as s:
            events, result = await collect(s, "go")
        statuses = [r.status for r in records(srv, kind)]
    assert result.final_text == "done"
    assert rec.log == [("read_file", "a.py")]  # the failed attempt ran no tool
    assert result.turns[0].attempts == 2
    retries = [e for e in events if isinstance(e, Reconnected)]
    assert len(retries) == 1
    assert retries[0].delay == pytest.approx(0.01)  # the server's retry-after, not the backoff
    assert statuses[-2:] == ["completed", "completed"]
    assert len(statuses) == 3


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "http_status", "status": 500, "times": 100}, id="before-stream"),
        pytest.param(
            {"kind": "error", "status": 500, "after_events": 3, "times": 100}, id="mid-stream"
        ),
    ],
)
@pytest.mark.parametrize(("kind", "store"), TRANSPORTS)
async def test_persistent_server_error_surfaces_after_the_policy_attempts(
    kind: str, store: bool, fault: dict[str, Any]
) -> None:
    script = [{"output": [text("never")], "fault": fault}]
    async with serve(script, tokens_per_second=None) as srv:
        async with session(srv, kind, [], store=store, retry=FAST_RETRY) as s:
            with pytest.raises(RetriesExhausted) as info:
                await s.run("go")
        attempts = len(records(srv, kind))
    assert info.value.attempts == FAST_RETRY.max_attempts
    assert isinstance(info.value.__cause__, ServerError)
    assert info.value.__cause__.status in (500, None)
    assert attempts == FAST_RETRY.max_attempts


# ------------------------------------------------------------------------------ bytes per turn


@pytest.mark.parametrize(("kind", "store"), TRANSPORTS)
async def test_what_each_turn_sends(server: LocalServer, kind: str, store: bool) -> None:
    """Stateless paths resend the context (it grows); stateful ones send only the new items."""
    rec = Recorder()
    async with session(server, kind, rec.tools(), store=store) as s:
        result = await s.run("Fix the bug in a.py")
        stats = s.transport.stats
    reqs = records(server, kind)
    sizes = [r.input_items for r in reqs]
    assert len(reqs) == 4
    if kind == "websocket" or store:
        # the prompt, then the tool outputs of the previous turn only (1, 2, 1 of them)
        assert sizes == [1, 1, 2, 1]
        assert reqs[0].previous_response_id in (None,) or kind == "websocket"
        assert all(r.previous_response_id for r in reqs[1:])
        assert stats.incremental_requests == 3
    else:
        assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
        assert all(r.previous_response_id is None for r in reqs)
        assert stats.incremental_requests == 0
        assert [t.items_sent for t in result.turns] == [1, 3, 7, 9]
    # The client's byte counters equal the server's (request bodies / frames, headers excluded).
    every = [r for r in server.requests if r.endpoint == ENDPOINT[kind]]
    assert stats.bytes_sent == sum(r.bytes_in for r in every)
    assert sum(t.bytes_sent for t in result.turns) == sum(r.bytes_in for r in reqs)


@pytest.mark.parametrize("kind", ["chat", "cerebras", "cerebras-create"])
async def test_cerebras_repeated_tool_call_fragment_is_not_appended(kind: str) -> None:
    """With the server's Cerebras quirk (each call's complete arguments re-sent at the end),
    every call still runs once with its arguments intact."""
    rec = Recorder()
    async with serve(LOOP, tokens_per_second=None, cerebras_quirk=True) as srv:
        async with session(srv, kind, rec.tools()) as s:
            result = await s.run("Fix the bug in a.py")
    assert result.final_text == "Fixed the bug in a.py."
    assert rec.log == [
        ("read_file", "a.py"),
        ("read_file", "b.py"),
        ("read_file", "c.py"),
        ("write_file", "a.py"),
    ]
