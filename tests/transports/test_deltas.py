"""``TurnRequest.want_deltas``: every transport skips ``*.delta`` events nobody reads (``run()``)
and yields them all when asked (``stream()``), with the same items either way; the WebSocket
transport on both of its backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from responses_fast.cache.render import log_item
from responses_fast.protocol.items import user_message
from responses_fast.protocol.server_events import OutputItemDone
from responses_fast.server import LocalServer, serve
from responses_fast.transports.base import RequestSettings, Transport, TurnRequest
from responses_fast.transports.cerebras import CerebrasTransport
from responses_fast.transports.chat_completions import ChatCompletionsTransport
from responses_fast.transports.http_sse import HttpSseTransport
from responses_fast.transports.websocket import WebSocketTransport

pytestmark = pytest.mark.anyio

TEXT = "The quick brown fox jumps over the lazy dog, twice over."
SCRIPT = [
    [
        {"type": "message", "text": TEXT},
        {"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}},
    ]
]
KINDS = ["websocket-picows", "websocket-websockets", "http", "chat", "cerebras"]


def make(kind: str, server: LocalServer) -> Transport:
    url = server.base_url
    if kind.startswith("websocket"):
        return WebSocketTransport(url, "sk-test", backend=kind.split("-")[1])  # type: ignore[arg-type]
    if kind == "http":
        return HttpSseTransport(url, "sk-test")
    if kind == "chat":
        return ChatCompletionsTransport(url, "sk-test")
    return CerebrasTransport(api_key="sk-test", base_url=url)


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with serve(SCRIPT, tokens_per_second=None) as srv:
        yield srv


async def one_turn(transport: Transport, want_deltas: bool) -> list[Any]:
    tool = {"type": "function", "name": "read_file", "parameters": {"type": "object"}}
    request = TurnRequest(
        settings=RequestSettings(model="scripted", tools=(tool,)),
        items=[log_item(user_message("go"))],
        want_deltas=want_deltas,
    )
    async with transport.open_turn(request) as events:
        return [event async for event in events]


@pytest.mark.parametrize("kind", KINDS)
async def test_deltas_only_when_wanted(server: LocalServer, kind: str) -> None:
    transport = make(kind, server)
    try:
        with_deltas = await one_turn(transport, True)
        received = transport.stats.events_received
        without = await one_turn(transport, False)
    finally:
        await transport.aclose()
    deltas = [e for e in with_deltas if e.type.endswith(".delta")]
    assert "".join(e.delta for e in deltas if e.type == "response.output_text.delta") == TEXT
    assert any(e.type == "response.function_call_arguments.delta" for e in deltas)
    assert not [e for e in without if e.type.endswith(".delta")]
    # The same items and the same terminal event either way.
    items = [
        [e.item.model_dump(exclude={"id", "call_id"}) for e in run if isinstance(e, OutputItemDone)]
        for run in (with_deltas, without)
    ]
    assert items[0] == items[1] and len(items[0]) == 2
    assert with_deltas[-1].type == without[-1].type == "response.completed"
    # Skipped deltas still arrived (and were counted) on the Responses transports.
    if not kind.startswith(("chat", "cerebras")):
        assert transport.stats.events_received - received == len(with_deltas)
