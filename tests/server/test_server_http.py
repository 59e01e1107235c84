"""HTTP endpoints with a raw httpx client: errors, keep-alive counters, models, thread server."""

from __future__ import annotations

import httpx
import orjson
import pytest

from responses_fast.protocol.sse import SSEDecoder
from responses_fast.server import serve, serve_in_thread

pytestmark = pytest.mark.anyio

SCRIPT = [["first answer"], ["second answer"]]


async def test_pre_stream_errors_have_the_openai_shape() -> None:
    async with serve(SCRIPT) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        r = await c.post("/responses", content=b"{nope")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
        r = await c.post("/responses", json={"model": "scripted", "input": 5})
        assert r.status_code == 400
        assert r.json()["error"]["type"] == "invalid_request_error"
        r = await c.post("/responses", json={"model": "nope", "input": "x"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        r = await c.post("/responses", json={"model": "scripted", "input": "x",
                                             "previous_response_id": "resp_zzz"})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "previous_response_not_found"
        r = await c.get("/responses/resp_zzz")
        assert r.status_code == 404
        r = await c.post("/chat/completions", json={"model": "scripted", "messages": "x"})
        assert r.status_code == 400
        r = await c.post("/chat/completions",
                         json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 404
        assert all(h in r.headers for h in ("x-request-id",))


async def test_api_key_on_http() -> None:
    async with serve(SCRIPT, api_key="sk-right") as server:
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            r = await c.post("/responses", json={"model": "echo", "input": "x"},
                             headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "invalid_api_key"
            r = await c.post("/chat/completions", json={"model": "echo", "messages": []})
            assert r.status_code == 401
            r = await c.post("/responses", json={"model": "echo", "input": "x"},
                             headers={"Authorization": "Bearer sk-right"})
            assert r.status_code == 200


async def test_sse_shape_and_keep_alive_counters() -> None:
    async with serve(SCRIPT) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        r1 = await c.post("/responses", json={"model": "scripted", "input": "q", "stream": True})
        msgs = SSEDecoder().feed(r1.content)
        assert r1.headers["content-type"].startswith("text/event-stream")
        assert all(m.event == orjson.loads(m.data)["type"] for m in msgs)
        assert msgs[-1].event == "response.completed"
        assert r1.content.endswith(b"\n\n")
        r2 = await c.post("/responses", json={"model": "scripted", "input": "q"})
        assert r2.json()["output"][0]["content"][0]["text"] == "first answer"
        first, second = server.requests
        assert first.connection_id == second.connection_id  # one keep-alive connection
        conn = server.statistics().connections[first.connection_id]
        assert conn.kind == "http" and conn.requests == 2
        assert conn.bytes_out == len(r1.content) + len(r2.content)
        assert first.bytes_out == len(r1.content)


async def test_models_and_tcp_warming() -> None:
    async with serve(SCRIPT, scripts={"demo": [["x"]]}) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            ids = [m["id"] for m in (await c.get("/models")).json()["data"]]
            assert ids == ["scripted", "echo", "scripted:demo"]
            r = await c.get("/tcp_warming")
            assert r.status_code == 200 and r.content == b""
            r = await c.post("/responses", json={"model": "scripted:demo", "input": "q"})
            assert r.json()["output"][0]["content"][0]["text"] == "x"


async def test_script_end_and_alternatives() -> None:
    turns = [{"alternatives": [{"match": "red", "output": ["saw red"]},
                               {"output": ["saw something else"]}]}]
    async with serve(turns) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        r = await c.post("/responses", json={"model": "scripted", "input": "a red car"})
        assert r.json()["output"][0]["content"][0]["text"] == "saw red"
        r = await c.post("/responses", json={"model": "scripted", "input": "blue"})
        assert r.json()["output"][0]["content"][0]["text"] == "saw something else"
        r = await c.post("/responses", json={"model": "scripted", "input": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": "y"},
            {"role": "user", "content": "z"}]})
        assert r.json()["output"][0]["content"][0]["text"] == "(script ended)"


def test_serve_in_thread_for_sync_code() -> None:
    with serve_in_thread(SCRIPT) as server:
        r = httpx.post(f"{server.base_url}/responses", json={"model": "echo", "input": "hey"})
        assert r.json()["output"][0]["content"][0]["text"] == "hey"
        assert server.requests[0].endpoint == "http"
        assert server.ws_url.startswith("ws://127.0.0.1:")
