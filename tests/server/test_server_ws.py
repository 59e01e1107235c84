"""WebSocket mode of the local server, driven by a raw websockets client and the openai SDK."""

from __future__ import annotations

from typing import Any

import anyio
import openai
import orjson
import pytest
import websockets
from openai.types.responses import ResponseCompletedEvent
from websockets.asyncio.client import ClientConnection, connect

from responses_fast.server import serve

pytestmark = pytest.mark.anyio

TOOLS = [{"type": "function", "name": "read_file", "description": "Read a file",
          "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                         "required": ["path"]}}]
SCRIPT = [
    [{"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}}],
    [{"type": "message", "text": "Fixed the bug."}],
]


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


async def send(ws: ClientConnection, **fields: Any) -> None:
    await ws.send(orjson.dumps({"type": "response.create", **fields}).decode())


async def recv(ws: ClientConnection) -> dict[str, Any]:
    with anyio.fail_after(10):
        data: dict[str, Any] = orjson.loads(await ws.recv())
    return data


async def until_terminal(ws: ClientConnection) -> list[dict[str, Any]]:
    out = []
    while True:
        ev = await recv(ws)
        out.append(ev)
        if ev["type"] in ("response.completed", "response.failed", "error"):
            return out


async def test_two_turn_exchange_and_counters() -> None:
    async with serve(SCRIPT) as server, connect(server.ws_url) as ws:
        await send(ws, model="scripted", input=[user("fix a.py")], tools=TOOLS, store=False)
        events = await until_terminal(ws)
        types = [e["type"] for e in events]
        assert types[:3] == ["response.created", "response.in_progress",
                             "response.output_item.added"]
        assert types[-3:] == ["response.function_call_arguments.done",
                              "response.output_item.done", "response.completed"]
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        args = "".join(e["delta"] for e in events
                       if e["type"] == "response.function_call_arguments.delta")
        assert args == '{"path":"a.py"}'
        assert all(len(e["delta"]) <= 4 for e in events if "delta" in e)
        done = events[-1]["response"]
        call = done["output"][0]
        assert call["call_id"] == "call_0_0" and call["id"] == "fc_0_0"
        usage = done["usage"]
        assert usage["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
        assert usage["output_tokens_details"] == {"reasoning_tokens": 0}

        await send(ws, model="scripted", previous_response_id=done["id"], tools=TOOLS,
                   store=False,
                   input=[{"type": "function_call_output", "call_id": "call_0_0",
                           "output": "def f(): pass"}])
        events = await until_terminal(ws)
        final = events[-1]
        assert final["type"] == "response.completed"
        assert final["response"]["output"][0]["content"][0]["text"] == "Fixed the bug."
        assert final["response"]["previous_response_id"] == done["id"]
        assert final["response"]["usage"]["input_tokens_details"]["cached_tokens"] > 0

        first, second = server.requests
        assert (first.endpoint, first.input_items, first.turn_index) == ("ws", 1, 0)
        assert second.input_items == 1
        assert second.previous_response_id == done["id"]
        assert second.context_items == 3 and second.turn_index == 1
        assert second.connection_id == first.connection_id
        stats = server.statistics()
        conn = stats.connections[first.connection_id]
        assert conn.requests == 2 and conn.bytes_in == first.bytes_in + second.bytes_in
        assert conn.bytes_out == first.bytes_out + second.bytes_out > 0


async def test_full_context_replay_on_new_socket_gets_next_turn() -> None:
    async with serve(SCRIPT) as server:
        async with connect(server.ws_url) as ws:
            await send(ws, model="scripted", input=[user("fix")], store=False)
            call = (await until_terminal(ws))[-1]["response"]["output"][0]
        async with connect(server.ws_url) as ws:
            await send(ws, model="scripted", store=False, input=[
                user("fix"), call,
                {"type": "function_call_output", "call_id": call["call_id"], "output": "x"}])
            final = (await until_terminal(ws))[-1]
            assert final["response"]["output"][0]["type"] == "message"
            assert server.requests[-1].turn_index == 1
            # the replayed prefix was seen before: emulated prompt caching
            assert final["response"]["usage"]["input_tokens_details"]["cached_tokens"] > 0


async def test_store_false_parent_is_connection_local() -> None:
    async with serve(SCRIPT) as server:
        async with connect(server.ws_url) as ws:
            await send(ws, model="scripted", input="hi", store=False)
            rid = (await until_terminal(ws))[-1]["response"]["id"]
        async with connect(server.ws_url) as ws:
            await send(ws, model="scripted", input="again", store=False, previous_response_id=rid)
            err = await recv(ws)
            assert err["type"] == "error" and err["status"] == 400
            assert err["error"]["code"] == "previous_response_not_found"
            assert err["error"]["param"] == "previous_response_id"
            # the socket stays usable
            await send(ws, model="echo", input="still here")
            final = (await until_terminal(ws))[-1]
            assert final["response"]["output"][0]["content"][0]["text"] == "still here"


async def test_store_true_continues_on_another_socket() -> None:
    async with serve(SCRIPT) as server:
        async with connect(server.ws_url) as ws:
            await send(ws, model="scripted", input="hi", store=True)
            rid = (await until_terminal(ws))[-1]["response"]["id"]
        async with connect(server.ws_url) as ws:
            await send(ws, model="scripted", previous_response_id=rid, input=[
                {"type": "function_call_output", "call_id": "call_0_0", "output": "x"}])
            final = (await until_terminal(ws))[-1]
            assert final["type"] == "response.completed"
            assert server.requests[-1].turn_index == 1


async def test_warmup_generate_false_then_continue() -> None:
    async with serve(SCRIPT) as server, connect(server.ws_url) as ws:
        await send(ws, model="scripted", input=[user("fix")], tools=TOOLS, store=False,
                   generate=False)
        events = await until_terminal(ws)
        assert [e["type"] for e in events] == ["response.created", "response.completed"]
        warm = events[-1]["response"]
        assert warm["output"] == [] and warm["usage"]["output_tokens"] == 0
        await send(ws, model="scripted", previous_response_id=warm["id"], input=[],
                   tools=TOOLS, store=False)
        final = (await until_terminal(ws))[-1]
        assert final["response"]["output"][0]["type"] == "function_call"
        assert final["response"]["usage"]["input_tokens_details"]["cached_tokens"] > 0


async def test_stream_id_is_echoed_query_and_beta_header_accepted() -> None:
    beta = {"OpenAI-Beta": "responses_websockets=2026-02-06"}
    async with serve(SCRIPT) as server, connect(server.ws_url + "?foo=bar",
                                                additional_headers=beta) as ws:
        await send(ws, model="echo", input="x", stream_id="lane-a")
        events = await until_terminal(ws)
        assert all(e["stream_id"] == "lane-a" for e in events)


async def test_bad_input_never_closes_the_socket() -> None:
    async with serve(SCRIPT) as server, connect(server.ws_url) as ws:
        await ws.send("{not json")
        err = await recv(ws)
        assert err["type"] == "error" and err["error"]["code"] == "invalid_json"
        await ws.send(orjson.dumps({"type": "response.create", "model": 12}).decode())
        err = await recv(ws)
        assert err["error"]["type"] == "invalid_request_error" and err["status"] == 400
        await ws.send(orjson.dumps({"type": "response.explode"}).decode())
        err = await recv(ws)
        assert err["error"]["code"] == "unknown_event_type"
        await send(ws, model="gpt-nope", input="x")
        err = await recv(ws)
        assert (err["status"], err["error"]["code"]) == (404, "model_not_found")
        await send(ws, model="scripted", input="x", background=True)
        err = await recv(ws)
        assert err["type"] == "error" and err["status"] == 400
        await ws.send(orjson.dumps({"type": "response.steer", "previous_response_id": "resp_x",
                                    "input": "go"}).decode())
        ev = await recv(ws)
        assert ev["type"] == "response.steer.failed"
        assert ev["error"]["code"] == "steering_not_supported"
        await send(ws, model="echo", input="ok")
        assert (await until_terminal(ws))[-1]["type"] == "response.completed"


async def test_second_create_on_default_lane_waits_fifo() -> None:
    async with serve(SCRIPT, tokens_per_second=50) as server, connect(server.ws_url) as ws:
        await send(ws, model="echo", input="a fairly long message to keep it busy for a while")
        await send(ws, model="echo", input="second")
        first = await until_terminal(ws)
        second = await until_terminal(ws)
        # no overlap: the second response starts only after the first one's terminal event
        assert [e["type"] for e in first].count("response.created") == 1
        assert first[-1]["type"] == second[-1]["type"] == "response.completed"
        assert all("stream_id" not in e for e in first + second)
        texts = [r[-1]["response"]["output"][0]["content"][0]["text"] for r in (first, second)]
        assert texts == ["a fairly long message to keep it busy for a while", "second"]


async def test_oversized_frame_closes_1009() -> None:
    async with serve(SCRIPT, max_message_size=1024) as server:
        async with connect(server.ws_url, max_size=None) as ws:
            await ws.send("x" * 4096)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await recv(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009


async def test_client_disconnect_mid_stream_frees_state() -> None:
    async with serve(SCRIPT, tokens_per_second=20) as server:
        async with connect(server.ws_url) as ws:
            await send(ws, model="echo", input="a long text that takes seconds to stream")
            assert (await recv(ws))["type"] == "response.created"
        with anyio.fail_after(10):
            while server.statistics().active_websockets:  # noqa: ASYNC110 - polls a counter
                await anyio.sleep(0.01)
        assert server.requests[0].status == "cancelled"
        async with connect(server.ws_url) as ws:
            await send(ws, model="echo", input="ok")
            assert (await until_terminal(ws))[-1]["type"] == "response.completed"


async def test_api_key_on_handshake() -> None:
    async with serve(SCRIPT, api_key="sk-right") as server:
        with pytest.raises(websockets.InvalidStatus) as info:
            async with connect(server.ws_url, additional_headers={"Authorization": "Bearer no"}):
                pass
        assert info.value.response.status_code == 401
        body = orjson.loads(info.value.response.body or b"{}")
        assert body["error"]["code"] == "invalid_api_key"
        async with connect(server.ws_url,
                           additional_headers={"Authorization": "Bearer sk-right"}) as ws:
            await send(ws, model="echo", input="ok")
            assert (await until_terminal(ws))[-1]["type"] == "response.completed"


async def test_max_connection_age() -> None:
    async with serve(SCRIPT, max_connection_age=0.05) as server, connect(server.ws_url) as ws:
        await anyio.sleep(0.1)
        await send(ws, model="echo", input="late")
        err = await recv(ws)
        assert err["error"]["code"] == "websocket_connection_limit_reached"
        assert err["status"] == 400
        with pytest.raises(websockets.ConnectionClosed) as info:
            await recv(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001


async def test_openai_sdk_websocket_two_turns() -> None:
    async with serve(SCRIPT) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        async with client.responses.connect() as conn:
            await conn.response.create(model="scripted", input="fix a.py", store=False,
                                       tools=TOOLS)  # type: ignore[arg-type]
            completed = None
            async for ev in conn:
                if ev.type == "response.completed":
                    completed = ev
                    break
            assert completed is not None
            assert isinstance(completed.response.usage.input_tokens, int)  # type: ignore[union-attr]
            call = completed.response.output[0]
            assert call.type == "function_call" and call.name == "read_file"
            await conn.response.create(
                model="scripted", store=False, previous_response_id=completed.response.id,
                input=[{"type": "function_call_output", "call_id": call.call_id,
                        "output": "def f(): pass"}])
            text = ""
            async for ev in conn:
                assert ev.type != "error"
                if ev.type == "response.output_text.delta":
                    text += ev.delta
                if ev.type == "response.completed":
                    assert isinstance(ev, ResponseCompletedEvent) or hasattr(ev, "response")
                    break
            assert text == "Fixed the bug."
        await client.close()
