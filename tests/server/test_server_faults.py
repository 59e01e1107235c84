"""Faults from the script, observed with raw clients (websockets, httpx)."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from responses_fast.protocol.sse import SSEDecoder
from responses_fast.server import serve

pytestmark = pytest.mark.anyio


def script(fault: dict[str, Any]) -> list[Any]:
    return [{"output": [{"type": "message", "text": "hello world, long enough"}],
             "fault": fault}]


async def create(ws: ClientConnection) -> None:
    await ws.send(orjson.dumps({"type": "response.create", "model": "scripted",
                                "input": "hi"}).decode())


async def recv(ws: ClientConnection) -> dict[str, Any]:
    with anyio.fail_after(10):
        data: dict[str, Any] = orjson.loads(await ws.recv())
    return data


@pytest.mark.parametrize("code", [1011, 1012, 1006])
async def test_ws_close_after_n_events(code: int) -> None:
    async with serve(script({"kind": "close", "after_events": 3, "code": code})) as server:
        async with connect(server.ws_url) as ws:
            await create(ws)
            got = [await recv(ws) for _ in range(3)]
            assert [e["sequence_number"] for e in got] == [0, 1, 2]
            with pytest.raises(websockets.ConnectionClosed) as info:
                await recv(ws)
            if code == 1006:
                assert info.value.rcvd is None  # no close frame: the TCP connection was dropped
            else:
                assert info.value.rcvd is not None and info.value.rcvd.code == code
        # times=1: the retry on a new socket gets the full turn
        async with connect(server.ws_url) as ws:
            await create(ws)
            events = [await recv(ws)]
            while events[-1]["type"] != "response.completed":
                events.append(await recv(ws))
        assert server.requests[0].fault == "close"
        assert server.requests[1].status == "completed"


async def test_ws_error_with_retry_after() -> None:
    fault = {"kind": "error", "after_events": 2, "status": 429, "retry_after": 2, "times": 2}
    async with serve(script(fault)) as server, connect(server.ws_url) as ws:
        for _ in range(2):
            await create(ws)
            assert (await recv(ws))["type"] == "response.created"
            assert (await recv(ws))["type"] == "response.in_progress"
            err = await recv(ws)
            assert err["type"] == "error" and err["status"] == 429
            assert err["error"]["code"] == "rate_limit_exceeded"
            assert err["error"]["headers"]["retry-after"] == "2"
        await create(ws)
        events = [await recv(ws)]
        while events[-1]["type"] not in ("response.completed", "error"):
            events.append(await recv(ws))
        assert events[-1]["type"] == "response.completed"


async def test_ws_stall_then_resume() -> None:
    fault = {"kind": "stall", "after_events": 2, "seconds": 0.2}
    async with serve(script(fault)) as server, connect(server.ws_url) as ws:
        await create(ws)
        await recv(ws)
        await recv(ws)
        with anyio.move_on_after(0.05) as scope:
            await ws.recv()
        assert scope.cancelled_caught  # nothing arrives during the stall
        rest = [await recv(ws)]
        while rest[-1]["type"] != "response.completed":
            rest.append(await recv(ws))
        assert rest[0]["sequence_number"] == 2


async def test_ws_http_status_fault_is_an_error_event() -> None:
    async with serve(script({"kind": "http_status", "status": 503})) as server:
        async with connect(server.ws_url) as ws:
            await create(ws)
            err = await recv(ws)
            assert err["type"] == "error" and err["status"] == 503


async def test_http_status_fault_with_retry_after() -> None:
    fault = {"kind": "http_status", "status": 429, "retry_after": 1}
    async with serve(script(fault)) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        r = await c.post("/responses", json={"model": "scripted", "input": "hi", "stream": True})
        assert r.status_code == 429
        assert r.headers["retry-after"] == "1"
        assert r.headers["x-request-id"]
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
        r = await c.post("/responses", json={"model": "scripted", "input": "hi", "stream": True})
        assert r.status_code == 200


async def test_http_error_fault_mid_stream_is_flat() -> None:
    fault = {"kind": "error", "after_events": 3, "status": 500}
    async with serve(script(fault)) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        r = await c.post("/responses", json={"model": "scripted", "input": "hi", "stream": True})
        msgs = SSEDecoder().feed(r.content)
        assert len(msgs) == 4
        last = orjson.loads(msgs[-1].data)
        assert msgs[-1].event == "error"
        assert last == {"type": "error", "code": "server_error", "param": None,
                        "message": last["message"], "sequence_number": 3}


async def test_http_close_fault_cuts_the_body() -> None:
    async with serve(script({"kind": "close", "after_events": 2})) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.post("/responses",
                             json={"model": "scripted", "input": "hi", "stream": True})
            r = await c.post("/responses", json={"model": "scripted", "input": "hi"})
            assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_http_stall_fault() -> None:
    fault = {"kind": "stall", "after_events": 1, "seconds": 0.2}
    async with serve(script(fault)) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        async with c.stream("POST", "/responses",
                            json={"model": "scripted", "input": "hi", "stream": True}) as r:
            body = b"".join([chunk async for chunk in r.aiter_bytes()])
        types = [m.event for m in SSEDecoder().feed(body)]
        assert types[0] == "response.created" and types[-1] == "response.completed"


async def test_chat_faults() -> None:
    turns: list[Any] = [
        {"output": ["a"], "fault": {"kind": "error", "status": 503, "retry_after": 1}},
    ]
    async with serve(turns) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}],
                "stream": True}
        r = await c.post("/chat/completions", json=body)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        server.set_script([{"output": ["abcdefgh"],
                            "fault": {"kind": "error", "after_events": 2, "status": 429}}])
        r = await c.post("/chat/completions", json=body)
        lines = [ln for ln in r.text.split("\n") if ln.startswith("data: ")]
        last = orjson.loads(lines[-1][6:])
        assert last["status_code"] == 429 and last["error"]["code"] == "rate_limit_exceeded"
        server.set_script([{"output": ["abcdefgh"], "fault": {"kind": "close",
                                                               "after_events": 2}}])
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/chat/completions", json=body)


async def test_non_streaming_faults() -> None:
    async with serve(script({"kind": "error", "after_events": 4, "status": 500})) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            r = await c.post("/responses", json={"model": "scripted", "input": "hi"})
            assert r.status_code == 500 and r.json()["error"]["code"] == "server_error"
            assert server.requests[0].bytes_out == len(r.content)
            server.set_script(script({"kind": "close"}))
            body = {"model": "scripted", "messages": [{"role": "user", "content": "hi"}]}
            with pytest.raises(httpx.RemoteProtocolError):
                await c.post("/chat/completions", json=body)
            r = await c.post("/chat/completions", json=body)
            assert r.json()["choices"][0]["message"]["content"] == "hello world, long enough"
