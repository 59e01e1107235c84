"""Compaction, the rest of the Responses HTTP surface, bodies checked against the published spec."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import openai
import orjson
import pytest
from openapi_spec import check
from websockets.asyncio.client import connect

from responses_fast.server import serve

pytestmark = pytest.mark.anyio

SCRIPT = [
    [{"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}}],
    [{"type": "custom_tool_call", "name": "apply_patch", "input": "*** Begin Patch\n"}],
    [{"type": "message", "text": "All done."}],
]


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def test_unknown_routes_and_methods_answer_json_errors() -> None:
    async with serve() as server, httpx.AsyncClient(base_url=server.root_url) as http:
        for method, path, status in [("GET", "/v1/nope", 404), ("POST", "/nope", 404),
                                     ("PUT", "/v1/responses", 405),
                                     ("GET", "/v1/chat/completions", 405),
                                     ("PATCH", "/v1/responses/resp_x", 405)]:
            res = await http.request(method, path)
            assert res.status_code == status, (method, path)
            assert res.headers["content-type"] == "application/json"
            body = res.json()
            check("Error", body["error"])
            assert body["error"]["type"] == "invalid_request_error"
    async with serve() as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        with pytest.raises(openai.NotFoundError) as info:
            await client.get("/nope", cast_to=object)
        assert isinstance(info.value.body, dict) and "Invalid URL" in info.value.message


async def test_delete_cancel_input_items_input_tokens_with_the_sdk() -> None:
    async with serve([["first"], ["second"]]) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        first = await client.responses.create(model="scripted", input="one", store=True,
                                              instructions="be brief")
        second = await client.responses.create(
            model="scripted", previous_response_id=first.id,
            input=[user("two"), user("three")])
        page = await client.responses.input_items.list(second.id, order="asc")
        kinds = [(i.type, getattr(i, "role", None)) for i in page.data]
        assert kinds == [("message", "user"), ("message", "assistant"), ("message", "user"),
                         ("message", "user")]
        newest = await client.responses.input_items.list(second.id, limit=1)
        assert newest.has_more and len(newest.data) == 1
        every = [i.id async for i in client.responses.input_items.list(second.id, limit=1)]
        assert len(every) == 4 and len(set(every)) == 4  # the SDK follows the cursor
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            raw = (await http.get(f"/responses/{second.id}/input_items")).json()
            check("ResponseItemList", raw)

        count = await client.responses.input_tokens.count(model="scripted", input="hello there")
        assert count.input_tokens > 0
        more = await client.responses.input_tokens.count(
            model="scripted", input="hello there", previous_response_id=second.id)
        assert more.input_tokens > count.input_tokens
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            raw = (await http.post("/responses/input_tokens",
                                   json={"model": "scripted", "input": "x"})).json()
            check("TokenCountsResource", raw)

        with pytest.raises(openai.BadRequestError):  # only background responses can be
            await client.responses.cancel(second.id)
        with pytest.raises(openai.NotFoundError):
            await client.responses.cancel("resp_unknown")
        await client.responses.delete(second.id)
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve(second.id)
        with pytest.raises(openai.NotFoundError):
            await client.responses.delete(second.id)
        assert (await client.responses.retrieve(first.id)).output_text == "first"


async def test_compact_endpoint_keeps_the_script_in_place() -> None:
    async with serve(SCRIPT) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        history: list[Any] = [user("fix a.py")]
        first = await client.responses.create(model="scripted", input=history, store=False)
        call = first.output[0]
        assert call.type == "function_call"
        history += [call.model_dump(exclude_none=True),
                    {"type": "function_call_output", "call_id": call.call_id, "output": "x=1"}]
        compacted = await client.responses.compact(model="scripted", input=history)
        assert compacted.object == "response.compaction"
        assert [o.type for o in compacted.output] == ["message", "compaction"]
        assert compacted.usage.input_tokens > 0
        # a new chain from the compacted window: the script goes on at turn 1, not turn 0
        # The SDK types compacted output as output items, so the kept user messages do not fit
        # its classes (it would warn when dumping them): take the items as sent.
        window = [o.model_dump(exclude_none=True, warnings=False) for o in compacted.output]
        second = await client.responses.create(model="scripted", input=window, store=False)
        assert second.output[0].type == "custom_tool_call"
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            raw = (await http.post("/responses/compact",
                                   json={"model": "scripted", "input": history})).json()
            check("CompactResource", raw)
            bad = await http.post("/responses/compact", json={"input": history})
            assert bad.status_code == 400 and bad.json()["error"]["param"] == "model"
    assert [r.endpoint for r in server.requests] == ["http", "compact", "http", "compact",
                                                     "compact"]
    assert [r.turn_index for r in server.requests][:3] == [0, 1, 1]


async def test_local_compaction_request_and_summary_keep_the_turn() -> None:
    """A client's own compaction (Codex's prompt) gets a summary; its history keeps the count."""
    async with serve(SCRIPT) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        history: list[Any] = [user("fix a.py")]
        first = await client.responses.create(model="scripted", input=history, store=False)
        call = first.output[0]
        history += [call.model_dump(exclude_none=True),
                    {"type": "function_call_output", "call_id": call.call_id, "output": "x=1"}]
        prompt = "You are performing a CONTEXT CHECKPOINT COMPACTION. Summarize."
        summary = await client.responses.create(model="scripted", store=False,
                                                input=[*history, user(prompt)])
        assert summary.output_text.startswith("Summary of the conversation so far.")
        rebuilt = [user("fix a.py"), user(summary.output_text)]
        second = await client.responses.create(model="scripted", input=rebuilt, store=False)
        assert second.output[0].type == "custom_tool_call"
    assert [r.turn_index for r in server.requests] == [0, 1, 1]


async def test_new_events_validate_against_the_spec() -> None:
    script = [[{"type": "reasoning", "text": "think first"},
               {"type": "function_call", "name": "f", "arguments": {}},
               {"type": "custom_tool_call", "name": "apply_patch", "input": "patch text"}],
              ["0123456789" * 10]]
    async with serve(script, tokens_per_second=2000) as server, connect(server.ws_url) as ws:
        names = {"response.custom_tool_call_input.delta": "ResponseCustomToolCallInputDeltaEvent",
                 "response.custom_tool_call_input.done": "ResponseCustomToolCallInputDoneEvent",
                 "response.function_call_arguments.done":
                     "ResponseFunctionCallArgumentsDoneEvent",
                 "response.output_item.added": "ResponseOutputItemAddedEvent",
                 "response.output_item.done": "ResponseOutputItemDoneEvent",
                 "response.incomplete": "ResponseIncompleteEvent",
                 "response.queued": "ResponseQueuedEvent",
                 "response.created": "ResponseCreatedEvent",
                 "response.in_progress": "ResponseInProgressEvent",
                 "response.completed": "ResponseCompletedEvent",
                 "response.content_part.added": "ResponseContentPartAddedEvent",
                 "response.content_part.done": "ResponseContentPartDoneEvent",
                 "response.output_text.delta": "ResponseTextDeltaEvent",
                 "response.output_text.done": "ResponseTextDoneEvent",
                 "response.function_call_arguments.delta":
                     "ResponseFunctionCallArgumentsDeltaEvent",
                 "response.reasoning_summary_part.added":
                     "ResponseReasoningSummaryPartAddedEvent",
                 "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneEvent",
                 "response.reasoning_summary_text.delta":
                     "ResponseReasoningSummaryTextDeltaEvent",
                 "response.reasoning_summary_text.done": "ResponseReasoningSummaryTextDoneEvent"}
        seen: set[str] = set()

        async def play(**fields: Any) -> list[dict[str, Any]]:
            await ws.send(orjson.dumps({"type": "response.create", "model": "scripted",
                                        **fields}).decode())
            out = []
            with anyio.fail_after(20):
                while True:
                    ev = orjson.loads(await ws.recv())
                    out.append(ev)
                    if ev["type"] in ("response.completed", "response.incomplete", "error"):
                        return out

        events = await play(input="go", store=False)
        events += await play(input=[user("go"), *events[-1]["response"]["output"],
                                    {"type": "function_call_output", "call_id": "call_0_1",
                                     "output": "ok"},
                                    {"type": "custom_tool_call_output", "call_id": "call_0_2",
                                     "output": "ok"}],
                             store=False, max_output_tokens=16)
        assert events[-1]["type"] == "response.incomplete"
        for ev in events:
            if ev["type"] in names:
                check(names[ev["type"]], {k: v for k, v in ev.items() if k != "stream_id"})
                seen.add(ev["type"])
        assert seen == set(names) - {"response.queued"}
        response = events[-1]["response"]
        assert response["incomplete_details"] == {"reason": "max_output_tokens"}


async def test_select_requests_survives_trimmed_history() -> None:
    """``select: requests``: the turn follows the conversation's request count, not its items."""
    script = {"select": "requests", "turns": [["one"], ["two"], ["three"]]}
    async with serve(script) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        texts = []
        for _ in range(3):  # the client trims its history to the last message every time
            res = await client.responses.create(model="scripted", input="go", store=False,
                                                prompt_cache_key="conv-a")
            texts.append(res.output_text)
        other = await client.responses.create(model="scripted", input="go", store=False,
                                              prompt_cache_key="conv-b")
        summary = await client.responses.create(
            model="scripted", store=False, prompt_cache_key="conv-b",
            input="You are performing a CONTEXT CHECKPOINT COMPACTION. Summarize.")
        after = await client.responses.create(model="scripted", input="go", store=False,
                                              prompt_cache_key="conv-b")
    assert texts == ["one", "two", "three"]
    assert other.output_text == "one" and after.output_text == "two"
    assert summary.output_text.startswith("Summary of the conversation so far.")


async def test_select_match_picks_the_turn_by_the_latest_input() -> None:
    script = {"select": "match", "turns": [
        {"alternatives": [{"match": "tests pass", "output": ["Finished."]}]},
        {"alternatives": [{"match": "ERROR", "output": ["Let me fix that."]}]},
    ]}
    async with serve(script) as server, openai.AsyncOpenAI(
            base_url=server.base_url, api_key="sk-test") as client:
        fix = await client.responses.create(model="scripted", input="got an ERROR")
        done = await client.responses.create(model="scripted", input="the tests pass")
    assert (fix.output_text, done.output_text) == ("Let me fix that.", "Finished.")
    assert [r.turn_index for r in server.requests] == [1, 0]
