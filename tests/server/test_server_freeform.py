"""Custom (freeform) tool calls and the request's limits, with the unchanged openai SDK as peer."""

from __future__ import annotations

from typing import Any

import anyio
import openai
import pytest
from cerebras.cloud.sdk import AsyncCerebras
from openai.types.responses import (
    Response,
    ResponseCustomToolCall,
    ResponseCustomToolCallInputDeltaEvent,
    ResponseCustomToolCallInputDoneEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
)

from responses_fast.server import serve
from responses_fast.server.conversation import context_from_items, count_model_turns
from responses_fast.server.limits import apply_limits
from responses_fast.server.scripted import ScriptItem, TurnPlan

pytestmark = pytest.mark.anyio

PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"
APPLY_PATCH: list[Any] = [{"type": "custom", "name": "apply_patch",
                           "description": "Apply a patch",
                           "format": {"type": "grammar", "syntax": "lark",
                                      "definition": "start: /(.|\\n)+/"}}]
READ_FILE: list[Any] = [{"type": "function", "name": "read_file", "strict": False,
                         "parameters": {"type": "object", "properties": {}}}]
SCRIPT = [
    [{"type": "custom_tool_call", "name": "apply_patch", "input": PATCH}],
    [{"type": "message", "text": "Patched."}],
]
TWO_CALLS = [[
    {"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}},
    {"type": "function_call", "name": "read_file", "arguments": {"path": "b.py"}},
    {"type": "message", "text": "Reading both."},
]]


async def _stream(client: openai.AsyncOpenAI, **kwargs: Any) -> tuple[Response, list[Any]]:
    stream = await client.responses.create(stream=True, **kwargs)
    events = [ev async for ev in stream]
    final = events[-1].response
    assert isinstance(final, Response)
    return final, events


async def test_custom_tool_call_http_then_turn_advances() -> None:
    async with serve(SCRIPT) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        history: list[Any] = [{"role": "user", "content": "add hello.txt"}]
        first, events = await _stream(client, model="scripted", input=history,
                                      tools=APPLY_PATCH, store=False)
        deltas = [e for e in events if isinstance(e, ResponseCustomToolCallInputDeltaEvent)]
        done = [e for e in events if isinstance(e, ResponseCustomToolCallInputDoneEvent)]
        assert "".join(d.delta for d in deltas) == PATCH and len(deltas) > 1
        assert done[0].input == PATCH
        call = first.output[0]
        assert isinstance(call, ResponseCustomToolCall)
        assert (call.name, call.input, call.call_id) == ("apply_patch", PATCH, "call_0_0")
        history += [call.model_dump(exclude_none=True),
                    {"type": "custom_tool_call_output", "call_id": call.call_id,
                     "output": "Done!"}]
        second, _ = await _stream(client, model="scripted", input=history, tools=APPLY_PATCH,
                                  store=False)
        assert second.output_text == "Patched."
    assert [r.turn_index for r in server.requests] == [0, 1]


async def test_custom_tool_call_over_websocket_with_previous_response_id() -> None:
    async with serve(SCRIPT) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        async with client.responses.connect() as conn:
            await conn.response.create(model="scripted", input="add hello.txt", store=False,
                                       tools=APPLY_PATCH)
            kinds: list[str] = []
            final: Any = None
            with anyio.fail_after(10):
                async for ev in conn:
                    kinds.append(ev.type)
                    if ev.type == "response.completed":
                        final = ev.response
                        break
            assert "response.custom_tool_call_input.delta" in kinds
            assert kinds.index("response.custom_tool_call_input.done") < kinds.index(
                "response.output_item.done")
            call = final.output[0]
            assert call.type == "custom_tool_call" and call.input == PATCH
            await conn.response.create(
                model="scripted", store=False, previous_response_id=final.id, tools=APPLY_PATCH,
                input=[{"type": "custom_tool_call_output", "call_id": call.call_id,
                        "output": "Done!"}])
            with anyio.fail_after(10):
                async for ev in conn:
                    assert ev.type != "error"
                    if ev.type == "response.completed":
                        assert ev.response.output_text == "Patched."
                        break


def test_every_model_item_kind_counts_as_a_turn() -> None:
    for item in ({"type": "custom_tool_call", "call_id": "c", "name": "x", "input": "i"},
                 {"type": "function_call", "call_id": "c", "name": "x", "arguments": "{}"},
                 {"type": "reasoning", "summary": []},
                 {"role": "assistant", "content": "hi"}):
        ctx = context_from_items([{"role": "user", "content": "go"}, item,
                                  {"type": "custom_tool_call_output", "call_id": "c",
                                   "output": "ok"}])
        assert count_model_turns(ctx) == 1, item


async def test_max_output_tokens_incomplete() -> None:
    text = "0123456789" * 20  # 50 tokens by the 4-character rule
    async with serve([[text]]) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        final, events = await _stream(client, model="scripted", input="go",
                                      max_output_tokens=16)
        assert isinstance(events[-1], ResponseIncompleteEvent)
        assert final.status == "incomplete"
        assert final.incomplete_details is not None
        assert final.incomplete_details.reason == "max_output_tokens"
        assert final.output_text == text[:64]
        assert final.usage is not None and final.usage.output_tokens == 16
        blocking = await client.responses.create(model="scripted", input="go",
                                                 max_output_tokens=100)
        assert blocking.status == "completed" and blocking.output_text == text
        with pytest.raises(openai.BadRequestError) as info:
            await client.responses.create(model="scripted", input="go", max_output_tokens=15)
        assert info.value.code == "invalid_request_error"
        assert "max_output_tokens" in str(info.value)


async def test_tool_choice_and_parallel_tool_calls_http() -> None:
    async with serve(TWO_CALLS) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        async def output(**kwargs: Any) -> list[Any]:
            final, _ = await _stream(client, model="scripted", input="go", store=False,
                                     tools=READ_FILE, **kwargs)
            return final.output

        none = await output(tool_choice="none")
        assert [o.type for o in none] == ["message"]
        single = await output(parallel_tool_calls=False)
        assert [o.type for o in single] == ["function_call", "message"]
        both = await output()
        assert [o.type for o in both] == ["function_call", "function_call", "message"]
    async with serve([["just text"]]) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        forced, _ = await _stream(client, model="scripted", input="go", tools=READ_FILE,
                                  tool_choice="required")
        assert isinstance(forced.output[0], ResponseFunctionToolCall)
        assert forced.output[0].name == "read_file"
        named, _ = await _stream(client, model="scripted", input="go", tools=APPLY_PATCH,
                                 tool_choice={"type": "custom", "name": "apply_patch"})
        assert isinstance(named.output[0], ResponseCustomToolCall)
        with pytest.raises(openai.BadRequestError):
            await client.responses.create(model="scripted", input="go", tool_choice="required")


async def test_chat_length_and_tool_choice_openai_and_cerebras() -> None:
    text = "0123456789" * 20
    async with serve([[text]]) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            done = await client.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "go"}],
                max_completion_tokens=5)
            assert done.choices[0].finish_reason == "length"
            assert done.choices[0].message.content == text[:20]
            stream = await client.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "go"}], max_tokens=3,
                stream=True)
            chunks = [c async for c in stream]
            assert chunks[-1].choices[0].finish_reason == "length"
            assert "".join(c.choices[0].delta.content or "" for c in chunks) == text[:12]
        async with AsyncCerebras(base_url=server.root_url, api_key="sk-test",
                                 warm_tcp_connection=False) as cb:
            res: Any = await cb.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "go"}], max_tokens=2)
            assert res.choices[0].finish_reason == "length"
    async with serve(TWO_CALLS) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        tools: list[Any] = [{"type": "function", "function": {"name": "read_file",
                                                             "parameters": {"type": "object"}}}]
        one = await client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "go"}], tools=tools,
            parallel_tool_calls=False)
        assert len(one.choices[0].message.tool_calls or []) == 1
        none = await client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "go"}], tools=tools,
            tool_choice="none")
        assert not none.choices[0].message.tool_calls
        assert none.choices[0].finish_reason == "stop"


def test_apply_limits_cuts_a_call_mid_arguments() -> None:
    plan = TurnPlan(0, (ScriptItem("reasoning", text="x" * 32),
                        ScriptItem("function_call", name="f", arguments="y" * 64),
                        ScriptItem("message", text="never")))
    cut = apply_limits(plan, max_output_tokens=20)
    assert cut.incomplete == "max_output_tokens"
    assert [(i.kind, i.status) for i in cut.items] == [("reasoning", "completed"),
                                                       ("function_call", "incomplete")]
    assert cut.items[1].arguments == "y" * 48
    assert apply_limits(plan, max_output_tokens=100).incomplete is None


async def test_sdk_stream_helper_accumulates_custom_calls_and_incomplete() -> None:
    """``responses.stream()`` checks event order while it accumulates; both shapes pass it."""
    async with serve([SCRIPT[0], ["0123456789" * 20]]) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        async with client.responses.stream(model="scripted", input="add hello.txt",
                                           tools=APPLY_PATCH, store=True) as stream:
            first = await stream.get_final_response()
        call = first.output[0]
        assert isinstance(call, ResponseCustomToolCall) and call.input == PATCH
        async with client.responses.stream(
                model="scripted", previous_response_id=first.id, max_output_tokens=16,
                input=[{"type": "custom_tool_call_output", "call_id": call.call_id,
                        "output": "Done!"}]) as stream:
            events = [ev async for ev in stream]
        # (its get_final_response() waits for response.completed only, with any server)
        last = events[-1]
        assert isinstance(last, ResponseIncompleteEvent)
        assert last.response.status == "incomplete" and len(last.response.output_text) == 64
