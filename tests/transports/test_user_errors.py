"""Errors a user meets before any model speaks (issue 13, point 6), each over real loopback sockets.

- a 429 or 503 answer to the WebSocket handshake at session start is retried by the first turn;
- a web page with status 200 (a captive portal, a wrong base URL) is named as such, not retried;
- an unreachable base URL is named in the error (the key never is);
- a malformed base URL is a ConfigurationError at once (exit code 2 from the CLI).

A :class:`Gate` sits in front of the local server: it answers the first connections with canned
HTTP responses and pipes the later ones through to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from responses_fast.config import RetryPolicy
from responses_fast.errors import (
    ConfigurationError,
    RemoteProtocolError,
    RetriesExhausted,
)
from responses_fast.server import LocalServer, serve
from responses_fast.session import AgentSession
from responses_fast.session.events import Event, Reconnected
from responses_fast.transports.cerebras import CerebrasTransport
from responses_fast.transports.websocket import WebSocketTransport

pytestmark = pytest.mark.anyio

FAST_RETRY = RetryPolicy(initial_delay=0.01, max_delay=0.02, max_attempts=3)
KEY = "sk-canary-0123456789abcdef"
SCRIPT = [[{"type": "message", "text": "done"}]]


def canned(status: int, reason: str, body: bytes, content_type: str, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


def api_error(status: int, code: str) -> bytes:
    body = orjson.dumps({"error": {"message": "emulated", "type": "t", "code": code}})
    return canned(status, "Refused", body, "application/json", retry_after="0.01")


HTML_PAGE = canned(200, "OK", b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html")


class Gate:
    """A TCP server that answers with ``answers`` (one per connection, then ``forever``) and
    pipes every other connection to ``upstream``."""

    def __init__(
        self, upstream: tuple[str, int] | None, answers: list[bytes], forever: bytes | None = None
    ) -> None:
        self.upstream = upstream
        self.answers = list(answers)
        self.forever = forever
        self.requests: list[bytes] = []  # the request line of every connection
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Gate:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head.split(b"\r\n", 1)[0])
            answer = self.answers.pop(0) if self.answers else self.forever
            if answer is not None:
                writer.write(answer)
                await writer.drain()
                return
            assert self.upstream is not None
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            up_writer.write(head)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


def upstream(server: LocalServer) -> tuple[str, int]:
    return (server.host, server.port)


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with serve(SCRIPT, tokens_per_second=None) as srv:
        yield srv


def make(kind: str, base_url: str, **kw: Any) -> AgentSession:
    transport: Any = kind
    if kind == "cerebras":
        transport = CerebrasTransport(api_key=KEY, base_url=base_url)
    elif kind.startswith("websocket-"):  # one backend of the socket
        backend = kind.split("-", 1)[1]
        transport = WebSocketTransport(base_url, KEY, backend=backend)  # type: ignore[arg-type]
    return AgentSession("scripted", transport=transport, base_url=base_url, api_key=KEY, **kw)


# --------------------------------------------------------------------- handshake 429/503


SOCKETS = ["websocket-picows", "websocket-websockets"]


@pytest.mark.parametrize("kind", SOCKETS)
@pytest.mark.parametrize(
    ("status", "code"), [(429, "rate_limit_exceeded"), (503, "server_is_overloaded")]
)
async def test_handshake_refusal_at_session_start_is_retried(
    server: LocalServer, status: int, code: str, kind: str
) -> None:
    # The pre-connect of `async with` and the first attempt of the first turn are refused.
    async with Gate(upstream(server), [api_error(status, code)] * 2) as gate:
        events: list[Event] = []
        async with make(kind, gate.base_url, retry=FAST_RETRY) as s:
            async with s.stream("go") as stream:
                events = [e async for e in stream]
            result = stream.result
    assert result is not None and result.final_text == "done"
    assert result.turns[0].attempts == 2
    retries = [e for e in events if isinstance(e, Reconnected)]
    assert len(retries) == 1 and retries[0].delay == pytest.approx(0.01)  # the retry-after
    assert len(gate.requests) == 3


# --------------------------------------------------------------------- a web page with 200


@pytest.mark.parametrize("kind", [*SOCKETS, "http", "chat", "cerebras"])
async def test_html_page_with_200_is_named_and_not_retried(kind: str) -> None:
    async with Gate(None, [], forever=HTML_PAGE) as gate:
        with pytest.raises(RemoteProtocolError) as info:
            async with make(kind, gate.base_url, retry=FAST_RETRY) as s:
                await s.run("go")
    message = str(info.value)
    assert "text/html" in message and f"127.0.0.1:{gate.port}" in message
    assert "web page" in message
    assert KEY not in message
    posts = [r for r in gate.requests if not r.endswith(b"/models HTTP/1.1")]
    posts = [r for r in posts if b"tcp_warming" not in r]
    assert len(posts) == 1, gate.requests  # not retried


# --------------------------------------------------------------------- unreachable URL


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", [*SOCKETS, "http", "chat", "cerebras"])
async def test_unreachable_base_url_is_named_never_the_key(kind: str) -> None:
    port = _closed_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    retry = RetryPolicy(initial_delay=0.001, max_delay=0.002, max_attempts=2)
    with pytest.raises(RetriesExhausted) as info:
        async with make(kind, base_url, retry=retry) as s:
            await s.run("go")
    cause = info.value.__cause__
    for text in (str(info.value), str(cause), repr(cause)):
        assert f"127.0.0.1:{port}" in text, text
        assert KEY not in text


def test_userinfo_and_query_are_not_shown() -> None:
    from responses_fast.transports._errors import safe_url

    assert safe_url("https://user:pw@host:8443/v1?key=sk-1#x") == "https://host:8443/v1"


# --------------------------------------------------------------------- malformed URL

MALFORMED = [
    "localhost:8765/v1",  # no scheme: urlsplit takes "localhost" for one
    "127.0.0.1:8765",
    "ftp://example.com/v1",
    "http:///v1",  # no host
    "http://example.com:99999/v1",  # port out of range
    "http://exa mple.com/v1",
]


@pytest.mark.parametrize("kind", ["websocket", "http", "chat", "cerebras"])
@pytest.mark.parametrize("base_url", MALFORMED)
def test_malformed_base_url_is_a_configuration_error_at_once(kind: str, base_url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        make(kind, base_url)
    assert "base URL" in str(info.value)


def test_cli_exits_2_on_a_malformed_base_url(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    args = ["run", "fix it", "-w", str(tmp_path), "--base-url", "localhost:8765/v1"]
    proc = subprocess.run(
        [sys.executable, "-m", "responses_fast.cli", *args, "--transport", "websocket"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "malformed base URL" in proc.stderr and "did you mean" in proc.stderr


@pytest.mark.parametrize("kind", SOCKETS)
async def test_wire_debug_logs_never_show_the_key(
    server: LocalServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # picows logs the raw upgrade request at its level 9, websockets every header at DEBUG.
    with caplog.at_level(1, logger="responses_fast.transports.websocket.wire"):
        async with make(kind, server.base_url) as s:
            await s.run("go")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Upgrade" in text or "upgrade" in text  # the handshake was logged
    assert KEY not in text
    assert "[REDACTED]" in text
