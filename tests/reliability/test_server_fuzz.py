"""Bad input to the local server over real sockets: it answers with the API's error shapes,
never crashes or hangs, and serves a normal request afterwards (issue 8).

The protocol layer's own parsers are fuzzed in tests/protocol; this drives the whole server
(uvicorn, Starlette, the WebSocket and HTTP endpoints) with random and mutated client frames and
POST bodies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from responses_fast.server import ServerThread

SETTINGS = settings(
    max_examples=int(os.environ.get("RF_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
REPLY_TIMEOUT = 5.0

VALID_CREATE: dict[str, Any] = {
    "type": "response.create",
    "model": "scripted",
    "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "hello"}]}],
    "instructions": "be brief",
    "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    "store": False,
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(["Hello there."] * 50, tokens_per_second=None) as srv:
        yield srv


# --------------------------------------------------------------------------- strategies

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [*VALID_CREATE, "previous_response_id", "generate", "stream", "background",
          "max_output_tokens", "tool_choice", "parallel_tool_calls", "stream_id", "metadata"]


@st.composite
def mutated_create(draw: st.DrawFn) -> dict[str, Any]:
    """A valid response.create with some fields replaced, removed or added."""
    body = json.loads(json.dumps(VALID_CREATE))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()) and key in body:
            del body[key]
        else:
            body[key] = draw(json_values)
    return body


@st.composite
def byte_mutation(draw: st.DrawFn) -> bytes:
    """The valid frame's bytes with a few bytes changed, cut or inserted."""
    data = bytearray(json.dumps(VALID_CREATE).encode())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[i:]
            if not data:
                data = bytearray(b"{")
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


frames = st.one_of(
    mutated_create().map(lambda d: json.dumps(d)),
    byte_mutation().map(lambda b: b.decode("utf-8", "replace")),
    json_values.map(lambda v: json.dumps(v)),
    st.text(max_size=60),
)


# --------------------------------------------------------------------------- WebSocket


class WSClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection | None = None

    def conn(self) -> ClientConnection:
        if self.ws is None:
            self.ws = connect(self.url, open_timeout=5, close_timeout=1, legacy=True)
        return self.ws

    def exchange(self, frame: str | bytes) -> list[dict[str, Any]]:
        """Send a frame; read replies until an error or a terminal event (or the close)."""
        ws = self.conn()
        replies: list[dict[str, Any]] = []
        try:
            ws.send(frame)
            while True:
                raw = ws.recv(timeout=REPLY_TIMEOUT)
                event = json.loads(raw)
                replies.append(event)
                if event.get("type") in ("error", "response.completed", "response.failed",
                                         "response.incomplete", "response.steer.failed"):
                    return replies
                if event.get("type") == "response.completed" and event.get("response", {}).get(
                    "id"
                ) is None:
                    return replies
        except ConnectionClosed:
            self.ws = None
            return replies

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


def assert_error_shape(event: dict[str, Any]) -> None:
    assert event["type"] == "error"
    assert isinstance(event.get("status"), int) and 400 <= event["status"] < 500, event
    err = event["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["code"], str) or err["code"] is None
    assert isinstance(err["type"], str)


def check_ws_replies(replies: list[dict[str, Any]]) -> None:
    assert replies, "no reply within the timeout (a hang)"
    for event in replies:
        assert isinstance(event.get("type"), str)
    last = replies[-1]
    if last["type"] == "error":
        assert_error_shape(last)
    else:
        assert last["type"] in ("response.completed", "response.incomplete",
                                "response.steer.failed"), last


def normal_request_works(client: WSClient) -> None:
    replies = client.exchange(json.dumps(VALID_CREATE))
    assert replies[-1]["type"] == "response.completed", replies[-1]


def test_websocket_survives_random_and_mutated_frames(server: ServerThread) -> None:
    client = WSClient(server.ws_url)

    @SETTINGS
    @given(frame=frames)
    def fuzz(frame: str) -> None:
        check_ws_replies(client.exchange(frame))

    try:
        fuzz()
        normal_request_works(client)
        # and on a brand-new socket
        client.close()
        client.ws = None
        normal_request_works(client)
    finally:
        client.close()


def test_websocket_binary_and_huge_frames(server: ServerThread) -> None:
    client = WSClient(server.ws_url)
    try:
        replies = client.exchange(b"\x00\xff binary")
        assert_error_shape(replies[-1])
        big = json.dumps({**VALID_CREATE, "instructions": "x" * 100_000})
        check_ws_replies(client.exchange(big))
        # Two creates back to back: the second is refused while the first is in flight, or
        # both complete; either way the socket stays usable.
        ws = client.conn()
        ws.send(json.dumps(VALID_CREATE))
        ws.send(json.dumps(VALID_CREATE))
        seen: list[str] = []
        while seen.count("response.completed") + seen.count("error") < 2:
            seen.append(json.loads(ws.recv(timeout=REPLY_TIMEOUT))["type"])
        normal_request_works(client)
    finally:
        client.close()


# --------------------------------------------------------------------------- HTTP

CHAT_VALID: dict[str, Any] = {
    "model": "scripted",
    "messages": [{"role": "user", "content": "hello"}],
    "stream": True,
}


def check_http(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        err = body["error"]
        assert isinstance(err["message"], str) and err["message"]
        assert "type" in err and "code" in err


@st.composite
def http_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(["/v1/responses", "/v1/chat/completions"]))
    kind = draw(st.sampled_from(["mutated", "bytes", "json", "chat"]))
    if kind == "mutated":
        body = draw(mutated_create())
        body.pop("type", None)
        return path, json.dumps(body).encode()
    if kind == "bytes":
        return path, draw(byte_mutation())
    if kind == "chat":
        chat = json.loads(json.dumps(CHAT_VALID))
        key = draw(st.sampled_from([*CHAT_VALID, "tools", "tool_choice", "stream_options"]))
        chat[key] = draw(json_values)
        return path, json.dumps(chat).encode()
    return path, json.dumps(draw(json_values)).encode()


def test_http_survives_random_and_mutated_bodies(server: ServerThread) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=REPLY_TIMEOUT) as http:

        @SETTINGS
        @given(case=http_bodies())
        def fuzz(case: tuple[str, bytes]) -> None:
            path, body = case
            check_http(http.post(path, content=body,
                                 headers={"content-type": "application/json"}))

        fuzz()
        ok = http.post("/v1/responses", json={**VALID_CREATE, "stream": False})
        assert ok.status_code == 200 and ok.json()["status"] == "completed"
        chat = http.post("/v1/chat/completions", json={**CHAT_VALID, "stream": False})
        assert chat.status_code == 200
