"""Responses API over one persistent WebSocket (the default and fastest transport).

One socket for the session's life. After the first turn only new items travel, with
``previous_response_id``, as long as the response it names was produced on this very socket (the
server's cache is connection-local). After a reconnect the full context is sent. On connect the
transport can warm the server with ``generate: false`` (instructions and tools, no output) while
the caller has nothing to send yet, so the first real turn continues a prepared chain.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlunsplit

import anyio
import websockets.asyncio.client
from websockets.asyncio.client import ClientConnection

from ..cache.prefix import RenderedPrefix
from ..config import Timeouts, mask_secret
from ..errors import ConnectionLost, LocalProtocolError, RateLimitError, ReadTimeout, ServerError
from ..protocol.client_events import assemble_body, render_fields
from ..protocol.server_events import (
    TERMINAL_EVENT_TYPES,
    ErrorEvent,
    ResponseCompleted,
    ServerEvent,
    UnknownEvent,
    parse_server_event,
)
from ._errors import check_base_url, error_from_event, map_transport_errors
from ._logging import wire_logger
from .base import RequestSettings, Transport, TurnRequest

__all__ = ["WebSocketTransport", "websocket_url"]

log = logging.getLogger("responses_fast.transports.websocket")
_WIRE_LOG = wire_logger("responses_fast.transports.websocket.wire")

_CREATE = render_fields({"type": "response.create"})


def websocket_url(base_url: str) -> str:
    """``https://host/v1`` -> ``wss://host/v1/responses`` (the same rule as the official SDK).

    A malformed ``base_url`` raises ConfigurationError.
    """
    parts = check_base_url(base_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}[parts.scheme]
    path = parts.path.rstrip("/")
    if not path.endswith("/responses"):
        path += "/responses"
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class WebSocketTransport(Transport):
    name = "websocket"
    stateful = True

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        warmup: RequestSettings | None = None,
        max_connection_age: float = 55 * 60,
        max_message_size: int | None = 64 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        self.url = websocket_url(base_url)
        self._api_key = api_key
        self._headers = dict(headers or {})
        self._timeouts = timeouts or Timeouts()
        self._warmup = warmup
        self._max_age = max_connection_age
        self._max_size = max_message_size
        self._ssl_context = ssl_context
        self._ws: ClientConnection | None = None
        self._opened_at = 0.0
        # The newest response the server holds in this socket's cache (a chain head we may extend).
        self._server_head: str | None = None
        self._warm_id: str | None = None
        self._connect_lock = anyio.Lock()
        self._turn_lock = anyio.Lock()
        self._busy = False

    def __repr__(self) -> str:
        return f"WebSocketTransport(url={self.url!r}, api_key={mask_secret(self._api_key)})"

    @property
    def connected(self) -> bool:
        return self._ws is not None

    async def connect(self) -> None:
        """Open the socket ahead of the first turn.

        A 429 or 5xx answer to the handshake is not raised here: the first turn connects again
        inside the session's retry loop, which honours its retry-after. Everything else (an
        authentication error, a web page instead of the upgrade, an unreachable host) is.
        """
        try:
            await self._connect()
        except (RateLimitError, ServerError) as exc:
            log.debug("pre-connect to %s refused (%s); the first turn retries", self.url, exc)

    async def _connect(self) -> None:
        async with self._connect_lock:
            if self._ws is not None:
                return
            headers = dict(self._headers)
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            # websockets refuses ssl= on a ws:// URL; on wss:// None means the system CAs.
            tls: dict[str, Any] = {}
            if self._ssl_context is not None and self.url.startswith("wss:"):
                tls["ssl"] = self._ssl_context
            with map_transport_errors("connect", self.url):
                self._ws = await websockets.asyncio.client.connect(
                    self.url,
                    additional_headers=headers,
                    open_timeout=self._timeouts.connect,
                    close_timeout=self._timeouts.close,
                    max_size=self._max_size,
                    # Small JSON payloads: deflate costs more CPU than it saves on the wire.
                    compression=None,
                    ping_interval=20,
                    ping_timeout=20,
                    logger=_WIRE_LOG,
                    **tls,
                )
            self._opened_at = time.monotonic()
            self._server_head = None
            self._warm_id = None
            self.stats.connects += 1
            log.debug("connected to %s", self.url)

    async def warm(self) -> None:
        """Send instructions and tools with ``generate: false`` on a fresh socket.

        The server prepares them while the caller has nothing to send yet; the first turn then
        continues that prepared response. A turn that starts meanwhile waits for it (one round
        trip at most). Without an open socket (a refused pre-connect) there is nothing to warm.
        """
        if self._warmup is None:
            return
        async with self._turn_lock:
            if self._ws is None:
                return  # the pre-connect was refused: the first turn connects (and retries)
            if self._warm_id is None and self._server_head is None:
                await self._warm(self._warmup)

    async def _warm(self, settings: RequestSettings) -> None:
        """``generate: false`` with instructions and tools: the server prepares them now."""
        body = assemble_body(
            _CREATE,
            RenderedPrefix.for_settings(settings).fields,
            render_fields({"generate": False}),
            input_items=(),
        )
        async for event in self._exchange(body):
            if isinstance(event, ResponseCompleted):
                self._warm_id = event.response.id

    @asynccontextmanager
    async def open_turn(
        self, request: TurnRequest
    ) -> AsyncIterator[AsyncIterator[ServerEvent | UnknownEvent]]:
        async with self._turn_lock:  # one response in flight: a running warm-up goes first
            if self._busy:  # only a turn opened from inside another turn gets here
                raise LocalProtocolError("a response is already in flight on this socket")
            if self._ws is not None and time.monotonic() - self._opened_at > self._max_age:
                # Rotate at a turn boundary before the server's lifetime limit cuts us mid-stream.
                await self.reset()
            await self._connect()
            events = self._exchange(self._body_for(request))
            try:
                yield events
            finally:
                await events.aclose()

    def _body_for(self, request: TurnRequest) -> bytes:
        items = request.items
        prev = request.previous_response_id
        if prev is not None and prev == self._server_head:
            start = request.new_from
        elif prev is None and request.new_from == 0 and self._warm_id == self._server_head:
            prev, start = self._warm_id, 0
        else:
            prev, start = None, 0
        self.stats.count_body(len(items) - start, incremental=prev is not None and start > 0)
        return assemble_body(
            _CREATE,
            RenderedPrefix.for_settings(request.settings).fields,
            render_fields({"previous_response_id": prev}) if prev else b"",
            input_items=[entry.raw for entry in items[start:]],
        )

    async def _exchange(self, body: bytes) -> AsyncGenerator[ServerEvent | UnknownEvent, None]:
        ws = self._ws
        if ws is None:
            raise ConnectionLost("not connected")
        self._busy = True
        finished = False
        watchdog: _StallWatchdog | None = None
        try:
            with map_transport_errors("send"):
                await ws.send(body, text=True)
            self.stats.requests += 1
            self.stats.bytes_sent += len(body)
            self.stats.last_request_bytes = len(body)
            watchdog = _StallWatchdog(ws, self._timeouts.read)
            while True:
                try:
                    with map_transport_errors("stream"):
                        raw = await ws.recv(decode=False)
                except ConnectionLost as exc:
                    if watchdog.fired:
                        raise ReadTimeout(
                            f"no event for {self._timeouts.read:g}s: the stream stalled"
                        ) from exc
                    raise
                watchdog.last_rx = watchdog.loop.time()
                self.stats.bytes_received += len(raw)
                self.stats.events_received += 1
                event = parse_server_event(raw)
                etype = event.type
                if isinstance(event, ErrorEvent):
                    finished = True
                    self._server_head = None
                    error = error_from_event(event)
                    if error.code == "websocket_connection_limit_reached":
                        # The server closes this socket right after: the retry needs a new one.
                        await self._drop()
                    raise error
                if etype in TERMINAL_EVENT_TYPES:
                    finished = True
                    response = getattr(event, "response", None)
                    ok = etype == "response.completed"
                    self._server_head = response.id if ok and response is not None else None
                    yield event
                    return
                yield event
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self._busy = False
            if not finished:
                # Abandoned mid-response (cancelled, failed): the socket still carries the rest
                # of that response, so it cannot serve the next turn. Drop it.
                await self._drop()

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        self._server_head = None
        self._warm_id = None
        if ws is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self._timeouts.close):
                await ws.close()

    async def reset(self) -> None:
        await self._drop()

    async def aclose(self) -> None:
        await self._drop()

    def debug_state(self) -> dict[str, Any]:
        return {"connected": self.connected, "server_head": self._server_head}


class _StallWatchdog:
    """Detects a stream that goes silent for longer than the read timeout.

    A cancel scope per received event costs ~15 µs (more than parsing it); this costs a clock
    read per event. One timer per stream re-arms itself from the time of the last event and,
    once the silence exceeds the timeout, aborts the TCP connection so ``recv`` fails at once.
    """

    __slots__ = ("_handle", "_timeout", "_ws", "fired", "last_rx", "loop")

    def __init__(self, ws: ClientConnection, timeout: float | None) -> None:
        self.loop = asyncio.get_running_loop()
        self._ws = ws
        self._timeout = timeout
        self.fired = False
        self.last_rx = self.loop.time()
        self._handle: asyncio.TimerHandle | None = (
            self.loop.call_later(timeout, self._check) if timeout is not None else None
        )

    def _check(self) -> None:
        assert self._timeout is not None
        idle = self.loop.time() - self.last_rx
        if idle < self._timeout:
            self._handle = self.loop.call_later(self._timeout - idle, self._check)
            return
        self._handle = None
        self.fired = True
        self._ws.transport.abort()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
