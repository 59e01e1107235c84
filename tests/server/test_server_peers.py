"""Peer tests: the unchanged official SDKs (openai, cerebras-cloud-sdk) against the local server."""

from __future__ import annotations

from typing import Any

import anyio
import openai
import pytest
from cerebras.cloud.sdk import AsyncCerebras
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
)

from responses_fast.server import serve

pytestmark = pytest.mark.anyio

TOOLS: list[Any] = [{"type": "function", "name": "read_file", "description": "Read a file",
                     "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                                    "required": ["path"]}, "strict": False}]
CHAT_TOOLS: list[Any] = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
SCRIPT = [
    [{"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}},
     {"type": "function_call", "name": "read_file", "arguments": '{"path": "b.py"}'}],
    [{"type": "message", "text": "Fixed the bug in a.py."}],
]


async def _stream_turn(client: openai.AsyncOpenAI, **kwargs: Any) -> Response:
    stream = await client.responses.create(model="scripted", stream=True, tools=TOOLS, **kwargs)
    final: Response | None = None
    first = True
    async for event in stream:
        if first:
            assert isinstance(event, ResponseCreatedEvent)
            first = False
        assert event.type != "error"
        if isinstance(event, ResponseCompletedEvent):
            final = event.response
    assert final is not None
    assert final.usage is not None and isinstance(final.usage.input_tokens, int)
    assert isinstance(final.usage.input_tokens_details.cached_tokens, int)
    return final


async def test_openai_http_stream_full_history_store_false() -> None:
    async with serve(SCRIPT) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            history: list[Any] = [{"role": "user", "content": "fix a.py"}]
            first = await _stream_turn(client, input=history, store=False)
            calls = [o for o in first.output if isinstance(o, ResponseFunctionToolCall)]
            assert [c.call_id for c in calls] == ["call_0_0", "call_0_1"]
            history += [c.model_dump(exclude_none=True) for c in calls]
            history += [{"type": "function_call_output", "call_id": c.call_id, "output": "ok"}
                        for c in calls]
            second = await _stream_turn(client, input=history, store=False)
            msg = second.output[0]
            assert isinstance(msg, ResponseOutputMessage)
            assert second.output_text == "Fixed the bug in a.py."
        records = server.requests
        assert [r.endpoint for r in records] == ["http", "http"]
        assert [r.input_items for r in records] == [1, 5]
        assert [r.turn_index for r in records] == [0, 1]


async def test_openai_http_stream_store_true_previous_response_id() -> None:
    async with serve(SCRIPT) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            first = await _stream_turn(client, input="fix a.py", store=True)
            outputs: list[Any] = [
                {"type": "function_call_output", "call_id": c.call_id, "output": "ok"}
                for c in first.output if isinstance(c, ResponseFunctionToolCall)]
            second = await _stream_turn(client, input=outputs, previous_response_id=first.id)
            assert second.output_text == "Fixed the bug in a.py."
            assert second.previous_response_id == first.id
            got = await client.responses.retrieve(second.id)
            assert got.id == second.id and got.output_text == "Fixed the bug in a.py."
            with pytest.raises(openai.BadRequestError) as info:
                await client.responses.create(model="scripted", input="x",
                                              previous_response_id="resp_missing")
            assert info.value.code == "previous_response_not_found"
            assert info.value.request_id is not None


async def test_openai_non_streaming_create() -> None:
    async with serve(SCRIPT) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            resp = await client.responses.create(model="scripted", input="fix", tools=TOOLS)
            assert isinstance(resp, Response)
            assert resp.status == "completed"
            assert isinstance(resp.output[0], ResponseFunctionToolCall)
            assert resp.usage is not None and resp.usage.output_tokens > 0
            echo = await client.responses.create(model="echo", input="hello there")
            assert echo.output_text == "hello there"
            with pytest.raises(openai.NotFoundError) as info:
                await client.responses.create(model="gpt-unknown", input="x")
            assert info.value.code == "model_not_found"


async def test_openai_responses_stream_helper() -> None:
    async with serve(SCRIPT) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            async with client.responses.stream(model="scripted", input="fix",
                                               tools=TOOLS) as stream:
                final = await stream.get_final_response()
            assert [o.type for o in final.output] == ["function_call", "function_call"]
            async with client.responses.stream(model="echo", input="abcdefghij") as stream:
                deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
                final = await stream.get_final_response()
            assert deltas == ["abcd", "efgh", "ij"]
            assert final.output_text == "abcdefghij"


async def test_openai_chat_completions_stream_with_tools() -> None:
    async with serve(SCRIPT) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            stream = await client.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "fix a.py"}],
                tools=CHAT_TOOLS, stream=True, stream_options={"include_usage": True})
            args: dict[int, str] = {}
            ids: dict[int, str] = {}
            finish = None
            usage_chunk = None
            async for chunk in stream:
                assert isinstance(chunk, ChatCompletionChunk)
                if not chunk.choices:
                    usage_chunk = chunk
                    continue
                choice = chunk.choices[0]
                for tc in choice.delta.tool_calls or []:
                    if tc.id:
                        ids[tc.index] = tc.id
                    args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
                finish = choice.finish_reason or finish
            assert finish == "tool_calls"
            assert ids == {0: "call_0_0", 1: "call_0_1"}
            assert args == {0: '{"path":"a.py"}', 1: '{"path": "b.py"}'}
            assert usage_chunk is not None and usage_chunk.usage is not None
            assert isinstance(usage_chunk.usage.prompt_tokens, int)

            resp = await client.chat.completions.create(
                model="scripted", tools=CHAT_TOOLS, messages=[
                    {"role": "user", "content": "fix a.py"},
                    {"role": "assistant", "content": None, "tool_calls": [
                        {"id": ids[i], "type": "function",
                         "function": {"name": "read_file", "arguments": args[i]}}
                        for i in (0, 1)]},
                    {"role": "tool", "tool_call_id": ids[0], "content": "x"},
                    {"role": "tool", "tool_call_id": ids[1], "content": "y"},
                ])
            assert resp.choices[0].message.content == "Fixed the bug in a.py."
            assert resp.choices[0].finish_reason == "stop"
            assert resp.usage is not None and resp.usage.completion_tokens > 0


async def test_cerebras_sdk_two_turns() -> None:
    async with serve(SCRIPT) as server:
        client = AsyncCerebras(base_url=f"http://127.0.0.1:{server.port}", api_key="csk-test",
                               warm_tcp_connection=False)
        messages: list[Any] = [{"role": "user", "content": "fix a.py"}]
        stream = await client.chat.completions.create(
            model="scripted", messages=messages, tools=CHAT_TOOLS, stream=True)
        calls: dict[int, dict[str, str]] = {}
        last = None
        async for chunk in stream:
            last = chunk
            for choice in chunk.choices or []:
                for tc in choice.delta.tool_calls or []:
                    c = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    if tc.id:
                        c["id"] = tc.id
                    if tc.function and tc.function.name:
                        c["name"] = tc.function.name
                    if tc.function and tc.function.arguments:
                        c["arguments"] += tc.function.arguments
        assert last is not None and last.usage is not None
        assert isinstance(last.usage.prompt_tokens, int)
        assert last.time_info is not None
        assert last.choices[0].finish_reason == "tool_calls"
        assert calls[0] == {"id": "call_0_0", "name": "read_file", "arguments": '{"path":"a.py"}'}
        messages.append({"role": "assistant", "tool_calls": [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls.values()]})
        messages += [{"role": "tool", "tool_call_id": c["id"], "content": "ok"}
                     for c in calls.values()]
        stream = await client.chat.completions.create(
            model="scripted", messages=messages, tools=CHAT_TOOLS, stream=True)
        text = ""
        async for chunk in stream:
            for choice in chunk.choices or []:
                text += choice.delta.content or ""
        assert text == "Fixed the bug in a.py."
        await client.close()
        assert [r.turn_index for r in server.requests] == [0, 1]
        assert [r.endpoint for r in server.requests] == ["chat", "chat"]


async def test_openai_sdk_reconnects_after_1012_fault() -> None:
    turns: list[Any] = [{"output": ["hello after the drop"],
                         "fault": {"kind": "close", "after_events": 2, "code": 1012}}]
    reconnects: list[int | None] = []
    async with serve(turns) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")

        def on_reconnecting(event: Any) -> None:
            reconnects.append(event.close_code)

        async with client.responses.connect(on_reconnecting=on_reconnecting) as conn:
            await conn.response.create(model="scripted", input="hi", store=False)
            text = ""
            async with anyio.create_task_group() as tg:
                async for ev in conn:
                    if ev.type == "response.output_text.delta":
                        text += ev.delta
                    if ev.type == "response.in_progress" and len(server.requests) == 1:
                        # the socket drops after this event: queue the retry for the new one
                        async def resend() -> None:
                            while not reconnects:  # noqa: ASYNC110 - waits on the SDK's callback
                                await anyio.sleep(0.01)
                            await conn.response.create(model="scripted", input="hi",
                                                       store=False)
                        tg.start_soon(resend)
                    if ev.type == "response.completed":
                        break
            assert text == "hello after the drop"
        await client.close()
    assert reconnects == [1012]
    assert [r.connection_id for r in server.requests] == ["ws-1", "ws-2"]


async def test_openai_sdk_retries_429_with_retry_after() -> None:
    turns: list[Any] = [{"output": ["ok"],
                         "fault": {"kind": "http_status", "status": 429, "retry_after": 0.05}}]
    async with serve(turns) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            resp = await client.responses.create(model="scripted", input="hi")
            assert resp.output_text == "ok"
        assert [r.status for r in server.requests] == ["error", "completed"]
