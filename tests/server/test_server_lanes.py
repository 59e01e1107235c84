"""WebSocket lanes (``stream_id``): concurrency, FIFO, limits, per-lane caches (protocol.md 6.3)."""

from __future__ import annotations

from typing import Any

import anyio
import openai
import orjson
import pytest
from openai.lib.responses_websocket import AsyncResponsesWebSocketSession, ResponsesWebSocketLimits
from openapi_spec import check
from websockets.asyncio.client import ClientConnection, connect

from responses_fast.server import serve
from responses_fast.server.websocket import MAX_ACTIVE_RESPONSES, MAX_NAMED_LANES

pytestmark = pytest.mark.anyio

TERMINAL = ("response.completed", "response.failed", "response.incomplete", "error")
LONG = "a long message that keeps the lane busy for a good while " * 2


async def send(ws: ClientConnection, **fields: Any) -> None:
    await ws.send(orjson.dumps({"type": "response.create", **fields}).decode())


async def recv(ws: ClientConnection) -> dict[str, Any]:
    with anyio.fail_after(20):
        data: dict[str, Any] = orjson.loads(await ws.recv())
    return data


async def collect(ws: ClientConnection, n_terminal: int) -> list[dict[str, Any]]:
    """Every event until ``n_terminal`` terminal events arrived, in arrival order."""
    out: list[dict[str, Any]] = []
    while n_terminal:
        ev = await recv(ws)
        out.append(ev)
        if ev["type"] in TERMINAL:
            n_terminal -= 1
    return out


def text_of(ev: dict[str, Any]) -> str:
    text: str = ev["response"]["output"][0]["content"][0]["text"]
    return text


async def test_lanes_run_concurrently_and_echo_stream_id() -> None:
    async with serve(tokens_per_second=200) as server, connect(server.ws_url) as ws:
        await send(ws, model="echo", input=LONG, stream_id="slow")
        await send(ws, model="echo", input="quick", stream_id="fast.lane-2")
        events = await collect(ws, 2)
        terminals = [e for e in events if e["type"] == "response.completed"]
        # the short response on the second lane finished while the first was still streaming
        assert [e["stream_id"] for e in terminals] == ["fast.lane-2", "slow"]
        assert all("stream_id" in e for e in events)
        by_lane: dict[str, list[dict[str, Any]]] = {}
        for e in events:
            by_lane.setdefault(e["stream_id"], []).append(e)
        for lane in by_lane.values():
            assert [e["sequence_number"] for e in lane] == list(range(len(lane)))
        assert text_of(terminals[0]) == "quick" and text_of(terminals[1]) == LONG


async def test_same_lane_is_fifo_without_overlap() -> None:
    async with serve(tokens_per_second=500) as server, connect(server.ws_url) as ws:
        for text in ("one", "two", "three"):
            await send(ws, model="echo", input=text, stream_id="a")
        events = await collect(ws, 3)
        kinds = [
            e["type"] for e in events if e["type"] in ("response.created", "response.completed")
        ]
        assert kinds == ["response.created", "response.completed"] * 3
        done = [text_of(e) for e in events if e["type"] == "response.completed"]
        assert done == ["one", "two", "three"]


@pytest.mark.parametrize("bad", ["", "has space", "x" * 257, "slash/no", "ü"])
async def test_malformed_stream_id_refused(bad: str) -> None:
    async with serve() as server, connect(server.ws_url) as ws:
        await send(ws, model="echo", input="hi", stream_id=bad)
        err = await recv(ws)
        assert err["type"] == "error" and err["status"] == 400
        assert err["error"]["code"] == "invalid_stream_id"
        assert err["stream_id"] == bad
        await send(ws, model="echo", input="ok", stream_id="x" * 256)  # the longest legal id
        assert (await collect(ws, 1))[-1]["type"] == "response.completed"


async def test_33rd_named_lane_refused_default_lane_not_counted() -> None:
    async with serve() as server, connect(server.ws_url) as ws:
        for i in range(MAX_NAMED_LANES):
            await send(ws, model="echo", input=f"n{i}", stream_id=f"lane{i}")
        await collect(ws, MAX_NAMED_LANES)
        await send(ws, model="echo", input="default")  # the default lane is not counted
        assert (await collect(ws, 1))[-1]["type"] == "response.completed"
        await send(ws, model="echo", input="again", stream_id="lane0")  # a known id is fine
        assert (await collect(ws, 1))[-1]["type"] == "response.completed"
        await send(ws, model="echo", input="too many", stream_id="lane-new")
        err = await recv(ws)
        assert err["error"]["code"] == "websocket_stream_limit_reached"
        assert err["stream_id"] == "lane-new" and err["status"] == 400
    async with serve() as server, connect(server.ws_url) as ws:  # counted per connection
        await send(ws, model="echo", input="fresh", stream_id="lane-new")
        assert (await collect(ws, 1))[-1]["type"] == "response.completed"


async def test_seventeenth_active_response_is_queued() -> None:
    n = MAX_ACTIVE_RESPONSES + 1
    async with serve(tokens_per_second=400) as server, connect(server.ws_url) as ws:
        for i in range(n):
            await send(ws, model="echo", input=LONG if i < n - 1 else "last", stream_id=f"l{i}")
        events = await collect(ws, n)
        last = [e for e in events if e["stream_id"] == f"l{n - 1}"]
        assert last[0]["type"] == "response.queued"
        assert last[0]["response"]["status"] == "queued"
        check("ResponseQueuedEvent", {k: v for k, v in last[0].items() if k != "stream_id"})
        assert [e["sequence_number"] for e in last] == list(range(len(last)))
        # it starts only after another response finished
        first_done = next(i for i, e in enumerate(events) if e["type"] == "response.completed")
        started = events.index(next(e for e in last if e["type"] == "response.created"))
        assert started > first_done
        queued = [e for e in events if e["type"] == "response.queued"]
        assert len(queued) == 1


async def test_each_lane_has_its_own_cache_and_forks_work() -> None:
    async with serve() as server, connect(server.ws_url) as ws:
        await send(ws, model="echo", input="root", stream_id="a", store=False)
        root = (await collect(ws, 1))[-1]["response"]["id"]
        # fork from lane a's response on lane b
        await send(
            ws, model="echo", input="fork", stream_id="b", store=False, previous_response_id=root
        )
        fork = (await collect(ws, 1))[-1]
        assert fork["type"] == "response.completed" and fork["stream_id"] == "b"
        assert server.requests[-1].context_items == 3
        # a miss is reported on the lane that asked
        await send(
            ws,
            model="echo",
            input="x",
            stream_id="b",
            store=False,
            previous_response_id="resp_unknown",
        )
        err = await recv(ws)
        assert err["error"]["code"] == "previous_response_not_found"
        assert err["stream_id"] == "b"
    async with serve() as server, connect(server.ws_url) as ws:  # a new socket: nothing cached
        await send(
            ws, model="echo", input="x", stream_id="a", store=False, previous_response_id=root
        )
        assert (await recv(ws))["error"]["code"] == "previous_response_not_found"


LIMITS = ResponsesWebSocketLimits(
    max_lanes=8,
    max_events_per_lane=4096,
    max_events=16384,
    max_bytes_per_lane=16 << 20,
    max_bytes=32 << 20,
)


async def test_openai_sdk_session_lanes_concurrently() -> None:
    """The SDK's own lane helper: two lanes in flight at once, each gets its final response."""
    async with serve(tokens_per_second=500) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            async with (
                client.responses.connect() as conn,
                AsyncResponsesWebSocketSession(conn, limits=LIMITS) as session,
            ):
                lanes = {name: session.lane(name) for name in ("planner", "coder")}
                for name, lane in lanes.items():
                    await lane.send(
                        {
                            "type": "response.create",
                            "model": "echo",
                            "input": f"hello from {name}",
                            "store": False,
                        }
                    )
                results: dict[str, Any] = {}

                async def finish(name: str) -> None:
                    results[name] = await lanes[name].get_final_response()

                with anyio.fail_after(20):
                    async with anyio.create_task_group() as tg:
                        for name in lanes:
                            tg.start_soon(finish, name)
                assert {n: r.output_text for n, r in results.items()} == {
                    "planner": "hello from planner",
                    "coder": "hello from coder",
                }
                assert all(r.status == "completed" for r in results.values())
                # continue one lane from its own response
                planner = lanes["planner"]
                await planner.send(
                    {
                        "type": "response.create",
                        "model": "echo",
                        "store": False,
                        "previous_response_id": results["planner"].id,
                        "input": "second turn",
                    }
                )
                with anyio.fail_after(20):
                    again = await planner.get_final_response()
                assert again.output_text == "second turn"
                assert again.previous_response_id == results["planner"].id
        assert sorted(r.stream_id or "" for r in server.requests) == ["coder", "planner", "planner"]


async def test_openai_sdk_session_default_lane_queues() -> None:
    """Two creates sent back to back on the raw SDK connection's default lane both complete."""
    async with serve(tokens_per_second=500) as server:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            async with client.responses.connect() as conn:
                await conn.response.create(model="echo", input="first")
                await conn.response.create(model="echo", input="second")
                texts = []
                with anyio.fail_after(20):
                    async for ev in conn:
                        assert ev.type != "error"
                        if ev.type == "response.completed":
                            texts.append(ev.response.output_text)
                            if len(texts) == 2:
                                break
                assert texts == ["first", "second"]
