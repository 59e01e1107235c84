"""Tracing (issue 14, feature 5): OpenTelemetry spans with the GenAI attributes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from responses_fast import Agent, AgentSession, BadRequestError, RetryPolicy, tool
from responses_fast.testing import scripted_server

pytestmark = pytest.mark.anyio


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def fail(why: str) -> str:
    """Always fails."""
    raise RuntimeError(why)


def fc(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


SCRIPT = [
    [fc("add", a=2, b=3), fc("fail", why="broken")],
    ["The answer is 5."],
]


def tracing() -> tuple[TracerProvider, InMemorySpanExporter]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for s in spans:
        out.setdefault(s.name, []).append(s)
    return out


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@pytest.mark.parametrize("transport", ["websocket", "http", "chat"])
async def test_run_turn_model_and_tool_spans_carry_the_genai_attributes(transport: str) -> None:
    provider, exporter = tracing()
    async with scripted_server(SCRIPT) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            transport=transport,
            tools=[add, fail],
            policy=None,
            tracing=provider,
            name="calculator",
        ) as session:
            result = await session.run("What is 2+3?")

    spans = by_name(exporter.get_finished_spans())
    assert sorted(spans) == [
        "chat scripted",
        "execute_tool add",
        "execute_tool fail",
        "invoke_agent calculator",
        "turn 1",
        "turn 2",
    ]
    (run,) = spans["invoke_agent calculator"]
    assert run.attributes is not None
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == "calculator"
    assert run.attributes["gen_ai.request.model"] == "scripted"
    assert run.attributes["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert run.attributes["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    assert run.attributes["gen_ai.response.id"] == result.response_id
    assert run.attributes["server.address"] == "127.0.0.1"

    turn1, turn2 = spans["turn 1"][0], spans["turn 2"][0]
    assert parent_of(turn1) == parent_of(turn2) == run.context.span_id
    chats = sorted(spans["chat scripted"], key=lambda s: s.start_time or 0)
    assert [parent_of(c) for c in chats] == [turn1.context.span_id, turn2.context.span_id]
    for chat, metrics in zip(chats, result.turns, strict=True):
        attrs = chat.attributes or {}
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.request.model"] == "scripted"
        assert attrs["gen_ai.response.id"] == metrics.response_id
        assert attrs["gen_ai.usage.input_tokens"] == metrics.input_tokens > 0
        assert attrs["gen_ai.usage.output_tokens"] == metrics.output_tokens > 0
    assert chats[0].attributes and chats[0].attributes["gen_ai.response.finish_reasons"] == (
        "tool_calls",
    )
    assert chats[1].attributes and chats[1].attributes["gen_ai.response.finish_reasons"] == (
        "stop",
    )

    (add_span,) = spans["execute_tool add"]
    (fail_span,) = spans["execute_tool fail"]
    calls = [i for i in result.items if getattr(i, "type", "") == "function_call"]
    assert add_span.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": calls[0].call_id,  # type: ignore[attr-defined]
        "gen_ai.tool.type": "function",
    }
    assert parent_of(add_span) == turn1.context.span_id
    assert add_span.status.status_code == StatusCode.UNSET
    assert fail_span.status.status_code == StatusCode.ERROR
    assert fail_span.attributes and fail_span.attributes["error.type"] == "tool_error"


async def test_a_retried_model_call_gets_a_failed_span_and_a_run_error_ends_every_span() -> None:
    provider, exporter = tracing()
    script = [
        {"output": [fc("add", a=1, b=1)], "fault": {"kind": "close", "after_events": 2}},
        ["Two."],
        {"output": ["never"], "fault": {"kind": "error", "status": 400}},  # not retried
    ]
    fast = RetryPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)
    async with scripted_server(script) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            tools=[add],
            policy=None,
            tracing=provider,
            retry=fast,
        ) as session:
            await session.run("1+1?")
            with pytest.raises(BadRequestError):
                await session.run("again")

    spans = exporter.get_finished_spans()
    chats = [s for s in spans if s.name.startswith("chat ")]
    attempts = [(s.attributes or {}).get("responses_fast.attempt") for s in chats]
    assert attempts[:3] == [1, 2, 1]
    assert chats[0].status.status_code == StatusCode.ERROR
    assert chats[1].status.status_code == StatusCode.UNSET
    runs = [s for s in spans if s.name == "invoke_agent agent"]
    assert len(runs) == 2
    assert runs[1].status.status_code == StatusCode.ERROR
    assert all(s.end_time is not None for s in spans)


async def test_a_sub_agents_run_is_a_child_of_its_tool_call_span() -> None:
    provider, exporter = tracing()
    helper = Agent("scripted:helper", name="helper")
    parent_script = [[fc("helper", input="help")], ["Helped."]]
    async with scripted_server(parent_script, scripts={"helper": [["Here."]]}) as server:
        async with AgentSession(
            "scripted",
            base_url=server.base_url,
            tools=[helper.as_tool()],
            policy=None,
            tracing=provider,
            name="lead",
        ) as session:
            await session.run("Get help.")

    spans = by_name(exporter.get_finished_spans())
    (tool_span,) = spans["execute_tool helper"]
    (sub_run,) = spans["invoke_agent helper"]
    (lead_run,) = spans["invoke_agent lead"]
    assert parent_of(sub_run) == tool_span.context.span_id
    assert sub_run.context.trace_id == lead_run.context.trace_id


def test_without_opentelemetry_a_session_runs_and_tracing_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if it were not installed
        import anyio
        from responses_fast import AgentSession, ConfigurationError
        from responses_fast.server import serve

        async def main():
            async with serve([["hi"]], tokens_per_second=0) as server:
                async with AgentSession("scripted", base_url=server.base_url) as s:
                    print((await s.run("hello")).final_text)
            try:
                AgentSession("scripted", base_url=server.base_url, tracing=True)
            except ConfigurationError as exc:
                print("error:", exc)
            loaded = [m for m in sys.modules if m.startswith("opentelemetry") and sys.modules[m]]
            print("loaded:", loaded)

        anyio.run(main)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == [
        "hi",
        "error: tracing needs opentelemetry-api: pip install 'responses-fast[otel]'",
        "loaded: []",
    ]


async def test_stream_is_traced_like_run() -> None:
    provider, exporter = tracing()
    async with scripted_server(SCRIPT) as server:
        async with AgentSession(
            "scripted", base_url=server.base_url, tools=[add, fail], policy=None, tracing=provider
        ) as session:
            async with session.stream("What is 2+3?") as events:
                kinds = [type(e).__name__ async for e in events]
    assert "TextDelta" in kinds and kinds[-1] == "RunFinished"
    names = sorted(s.name for s in exporter.get_finished_spans())
    assert names == [
        "chat scripted",
        "chat scripted",
        "execute_tool add",
        "execute_tool fail",
        "invoke_agent agent",
        "turn 1",
        "turn 2",
    ]
