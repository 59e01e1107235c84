"""Responses API over one persistent WebSocket (the default and fastest transport), with lanes.

One socket for the session's life. After the first turn only new items travel, with
``previous_response_id``, as long as the response it names was produced on this very socket (the
server's cache is connection-local). After a reconnect the full context is sent. On connect the
transport can warm the server with ``generate: false`` (instructions and tools, no output) while
the caller has nothing to send yet, so the first real turn continues a prepared chain.

Frames are decoded in the socket's read callback (``_socket``) and routed to the reader of each
lane (``_inbox``) without a wake-up per event; deltas nobody reads are dropped unparsed.

Lanes (protocol.md 6.3): :class:`ResponsesSocket` owns one socket that several sessions share,
each on its own lane (``stream_id``): ``AgentSession(model, transport=socket.lane())``. Lanes run
concurrently on the server, FIFO within a lane; each lane has its own ``previous_response_id``
chain. One reconnect serves every lane, and invalidates every lane's chain (each session's retry
then resends its context). :class:`WebSocketTransport` is the default lane of a socket of its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlunsplit

import anyio

from ..cache.prefix import RenderedPrefix
from ..config import Timeouts, mask_secret
from ..errors import (
    ConfigurationError,
    ConnectionLost,
    LocalProtocolError,
    RateLimitError,
    ReadTimeout,
    ServerError,
    UsageError,
)
from ..protocol.client_events import assemble_body, render_fields
from ..protocol.server_events import (
    TERMINAL_EVENT_TYPES,
    ErrorEvent,
    ResponseCompleted,
    ServerEvent,
    UnknownEvent,
    parse_server_event,
)
from ._errors import check_base_url, error_from_event, translate
from ._inbox import Inbox, Router
from ._socket import Backend, Connection, open_connection
from .base import RequestSettings, Transport, TurnRequest

__all__ = ["ResponsesSocket", "WebSocketLane", "WebSocketTransport", "websocket_url"]

log = logging.getLogger("responses_fast.transports.websocket")

_CREATE = render_fields({"type": "response.create"})
_OPENAI_BASE_URL = "https://api.openai.com/v1"
#: A lane id the local server accepts (1-256 letters, digits, ``_``, ``.``, ``-``); the service's
#: exact rule is not published, and it answers others with ``invalid_stream_id``.
_LANE_ID = re.compile(r"[A-Za-z0-9_.\-]{1,256}")


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


class ResponsesSocket:
    """One Responses WebSocket shared by lanes: ``async with ResponsesSocket(url, key) as s``.

    Args:
        base_url: the API base (``https://api.openai.com/v1``, a local server's ``/v1``);
            default ``$OPENAI_BASE_URL``, else OpenAI's.
        api_key: sent as ``Authorization: Bearer`` on the handshake; default ``$OPENAI_API_KEY``.
        headers: extra handshake headers.
        timeouts: connect/read/close timeouts (read: the longest silence inside a response).
        max_connection_age: the socket is replaced at a turn boundary after this many seconds
            (the service closes sockets at 60 minutes), when no other lane is mid-response.
        max_message_size: the largest message accepted from the server.
        ssl_context: verifies ``wss`` servers (None: the system CAs).
        backend: ``"auto"`` (picows when installed, the ``fast`` extra; else websockets),
            ``"picows"`` or ``"websockets"``.

    :meth:`lane` gives a Transport per lane; the socket opens on first use and reopens, once for
    all lanes, after it is lost. Closing the socket fails what is in flight on every lane.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        max_connection_age: float = 55 * 60,
        max_message_size: int | None = 64 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        backend: Backend = "auto",
    ) -> None:
        if backend not in ("auto", "picows", "websockets"):
            raise ConfigurationError(f"unknown WebSocket backend {backend!r}")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or _OPENAI_BASE_URL
        if api_key is None:
            api_key = os.environ.get("OPENAI_API_KEY")
        self.url = websocket_url(base_url)
        self._api_key = api_key
        self._headers = dict(headers or {})
        self.timeouts = timeouts or Timeouts()
        self._max_age = max_connection_age
        self._max_size = max_message_size
        self._ssl_context = ssl_context
        self.backend: Backend = backend
        self.router = Router()
        self.conn: Connection | None = None
        #: Bumped by every new connection: a lane's chain from an older one is gone.
        self.generation = 0
        self._opened_at = 0.0
        self._connect_lock = anyio.Lock()
        self._lanes: set[str] = set()
        self._closed = False
        self.connects = 0

    def __repr__(self) -> str:
        return f"ResponsesSocket(url={self.url!r}, api_key={mask_secret(self._api_key)})"

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def lane(self, name: str | None = None, *, warmup: RequestSettings | None = None) -> Transport:
        """A Transport whose requests run on lane ``name`` (None: the default lane).

        Each lane takes one response at a time (a second turn waits for the first) and keeps its
        own ``previous_response_id`` chain. A name may serve one lane object at a time.
        """
        if name is not None:
            if not _LANE_ID.fullmatch(name):
                raise ConfigurationError(
                    f"lane name {name!r}: use 1-256 letters, digits, '_', '.' or '-'"
                )
            if name in self._lanes:
                raise UsageError(f"lane {name!r} is already in use on this socket")
            self._lanes.add(name)
        return WebSocketLane(self, name, warmup=warmup)

    def _release_lane(self, name: str | None) -> None:
        if name is not None:
            self._lanes.discard(name)

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.closed

    async def connect(self) -> None:
        """Open the socket now (it also opens on first use)."""
        await self.ensure()

    async def ensure(self, rotate_for: str | bool | None = False) -> Connection:
        """The open connection, opened (or replaced) as needed.

        ``rotate_for`` (a lane, or None for the default lane) asks to replace a socket past its
        age limit, unless another lane than that one has a response open.
        """
        if self._closed:
            raise UsageError("this socket is closed")
        conn = self.conn
        if conn is not None and not conn.closed:
            if rotate_for is False or time.monotonic() - self._opened_at <= self._max_age:
                return conn
            if self.router.busy(rotate_for if isinstance(rotate_for, str) else None):
                return conn
            await self.drop()
        async with self._connect_lock:
            conn = self.conn
            if conn is not None and not conn.closed:
                return conn
            headers = dict(self._headers)
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self.router = Router()
            conn = await open_connection(
                self.url,
                self.router,
                headers=headers,
                ssl_context=self._ssl_context,
                connect_timeout=self.timeouts.connect,
                max_size=self._max_size,
                backend=self.backend,
            )
            self.conn = conn
            self.generation += 1
            self.connects += 1
            self._opened_at = time.monotonic()
            log.debug("connected to %s (%s)", self.url, conn.backend)
            return conn

    async def drop(self) -> None:
        """Close the connection (every lane's response in flight fails); the next use reopens."""
        conn, self.conn = self.conn, None
        if conn is not None:
            with anyio.CancelScope(shield=True):
                await conn.close(self.timeouts.close)

    async def aclose(self) -> None:
        self._closed = True
        await self.drop()


class WebSocketLane(Transport):
    """One lane of a :class:`ResponsesSocket`, as a Transport (``socket.lane(name)``)."""

    name = "websocket"
    stateful = True

    def __init__(
        self,
        socket: ResponsesSocket,
        stream_id: str | None = None,
        *,
        warmup: RequestSettings | None = None,
    ) -> None:
        super().__init__()
        self.socket = socket
        self.stream_id = stream_id
        self._lane_field = render_fields({"stream_id": stream_id}) if stream_id else b""
        self._warmup = warmup
        # The newest response the server holds for this lane (a chain head we may extend), on
        # connection number self._generation.
        self._server_head: str | None = None
        self._warm_id: str | None = None
        self._generation = 0
        self._turn_lock = anyio.Lock()
        self._busy = False
        self._seen_connects = 0

    def __repr__(self) -> str:
        return f"WebSocketLane({self.socket!r}, stream_id={self.stream_id!r})"

    @property
    def url(self) -> str:
        return self.socket.url

    @property
    def connected(self) -> bool:
        return self.socket.connected

    async def connect(self) -> None:
        """Open the socket ahead of the first turn.

        A 429 or 5xx answer to the handshake is not raised here: the first turn connects again
        inside the session's retry loop, which honours its retry-after. Everything else (an
        authentication error, a web page instead of the upgrade, an unreachable host) is.
        """
        try:
            await self._ensure(rotate=False)
        except (RateLimitError, ServerError) as exc:
            log.debug("pre-connect to %s refused (%s); the first turn retries", self.url, exc)

    async def _ensure(self, *, rotate: bool) -> Connection:
        conn = await self.socket.ensure(rotate_for=self.stream_id if rotate else False)
        if self._generation != self.socket.generation:
            # A new connection: the server holds nothing of this lane's chain any more.
            self._generation = self.socket.generation
            self._server_head = None
            self._warm_id = None
        connects = self.socket.connects
        self.stats.connects += connects - self._seen_connects
        self._seen_connects = connects
        return conn

    async def warm(self) -> None:
        """Send instructions and tools with ``generate: false`` on a fresh socket.

        The server prepares them while the caller has nothing to send yet; the first turn then
        continues that prepared response. A turn that starts meanwhile waits for it (one round
        trip at most). Without an open socket (a refused pre-connect) there is nothing to warm.
        """
        if self._warmup is None:
            return
        async with self._turn_lock:
            if not self.socket.connected:
                return  # the pre-connect was refused: the first turn connects (and retries)
            await self._ensure(rotate=False)
            if self._warm_id is None and self._server_head is None:
                body = assemble_body(
                    _CREATE,
                    RenderedPrefix.for_settings(self._warmup).fields,
                    self._lane_field,
                    render_fields({"generate": False}),
                    input_items=(),
                )
                async with self._exchange(body, want_deltas=False) as events:
                    async for event in events:
                        if isinstance(event, ResponseCompleted):
                            self._warm_id = event.response.id

    @asynccontextmanager
    async def open_turn(
        self, request: TurnRequest
    ) -> AsyncIterator[AsyncIterator[ServerEvent | UnknownEvent]]:
        async with self._turn_lock:  # one response in flight per lane: a warm-up goes first
            if self._busy:  # only a turn opened from inside another turn gets here
                raise LocalProtocolError("a response is already in flight on this lane")
            await self._ensure(rotate=True)
            body = self._body_for(request)
            async with self._exchange(body, want_deltas=request.want_deltas) as events:
                yield events

    def _body_for(self, request: TurnRequest) -> bytes:
        items = request.items
        prev = request.previous_response_id
        if prev is not None and (prev == self._server_head or request.settings.store):
            # A stored response can be continued from any socket (a resumed session); a miss
            # is previous_response_not_found, and the retry resends the whole context.
            start = request.new_from
        elif prev is None and request.new_from == 0 and self._warm_id == self._server_head:
            prev, start = self._warm_id, 0
        else:
            prev, start = None, 0
        self.stats.count_body(len(items) - start, incremental=prev is not None and start > 0)
        return assemble_body(
            _CREATE,
            RenderedPrefix.for_settings(request.settings).fields,
            self._lane_field,
            render_fields({"previous_response_id": prev}) if prev else b"",
            input_items=[entry.raw for entry in items[start:]],
        )

    @asynccontextmanager
    async def _exchange(
        self, body: bytes, *, want_deltas: bool
    ) -> AsyncIterator[AsyncIterator[ServerEvent | UnknownEvent]]:
        """Send ``body`` now; the context yields the response's events (read lazily)."""
        socket = self.socket
        conn = socket.conn
        if conn is None or conn.closed:
            raise ConnectionLost("not connected")
        router = socket.router
        inbox = router.open(self.stream_id, self.stats, want_deltas)
        self._busy = True
        done = [False]  # set by the reader at the terminal event or an error event
        watchdog: _StallWatchdog | None = None
        stats = self.stats
        try:
            try:
                conn.send_text(body)
            except Exception as exc:
                raise translate(exc, "send", self.url) or exc from exc
            stats.requests += 1
            stats.bytes_sent += len(body)
            stats.last_request_bytes = len(body)
            watchdog = _StallWatchdog(conn, socket.timeouts.read)
            events = self._read(inbox, watchdog, done)
            try:
                yield events
            finally:
                await events.aclose()
        finally:
            if watchdog is not None:
                watchdog.cancel()
            self._busy = False
            if done[0] or inbox.error is not None:
                router.release(inbox, drain=False)
            else:
                # Abandoned mid-response (cancelled, failed): the rest of that response still
                # comes. Alone on the socket, drop it (a clean start); with other lanes busy,
                # drop this lane's remaining messages up to their terminal event instead.
                self._server_head = None
                if router.busy(self.stream_id):
                    router.release(inbox, drain=True)
                else:
                    router.release(inbox, drain=False)
                    await socket.drop()

    async def _read(
        self, inbox: Inbox, watchdog: _StallWatchdog, done: list[bool]
    ) -> AsyncGenerator[ServerEvent | UnknownEvent, None]:
        pending = inbox.pending
        while True:
            if not pending:
                if inbox.error is not None:
                    if watchdog.fired:
                        read = self.socket.timeouts.read
                        raise ReadTimeout(
                            f"no event for {read:g}s: the stream stalled"
                        ) from inbox.error
                    raise inbox.error
                await inbox.wait()
                continue
            event = parse_server_event(pending.popleft())
            if isinstance(event, ErrorEvent):
                done[0] = True
                self._server_head = None
                error = error_from_event(event)
                if error.code == "websocket_connection_limit_reached":
                    # The server closes this socket right after: the retry needs a new one.
                    await self.socket.drop()
                raise error
            if event.type in TERMINAL_EVENT_TYPES:
                done[0] = True
                response = getattr(event, "response", None)
                ok = event.type == "response.completed"
                self._server_head = response.id if ok and response is not None else None
                yield event
                return
            yield event

    async def reset(self) -> None:
        """After a failure: the chain is gone; a dead socket reopens on the next turn."""
        self._server_head = None
        self._warm_id = None

    async def aclose(self) -> None:
        """Leave the lane (the socket stays open for the others)."""
        self.socket._release_lane(self.stream_id)

    def debug_state(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "server_head": self._server_head,
            "stream_id": self.stream_id,
        }


class WebSocketTransport(WebSocketLane):
    """The default lane of a socket of its own: one session, one socket (the default transport).

    Args: as :class:`ResponsesSocket`, plus ``warmup`` (the settings to prepare the server with
    on connect, ``generate: false``).
    """

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
        backend: Backend = "auto",
    ) -> None:
        socket = ResponsesSocket(
            base_url,
            api_key,
            headers=headers,
            timeouts=timeouts,
            max_connection_age=max_connection_age,
            max_message_size=max_message_size,
            ssl_context=ssl_context,
            backend=backend,
        )
        super().__init__(socket, None, warmup=warmup)

    def __repr__(self) -> str:
        return f"WebSocketTransport(url={self.url!r}, api_key={mask_secret(self.socket._api_key)})"

    async def reset(self) -> None:
        """Drop the socket after a failure; the next turn reconnects."""
        await super().reset()
        await self.socket.drop()

    async def aclose(self) -> None:
        await self.socket.drop()


class _StallWatchdog:
    """Detects a response that goes silent for longer than the read timeout.

    No clock read per message: a timer checks, four times per timeout, whether the connection's
    message counter moved; after a full timeout of silence it aborts the connection, which
    fails the reader (and every lane) at once.
    """

    __slots__ = ("_conn", "_handle", "_last", "_loop", "_quiet", "_step", "fired")

    def __init__(self, conn: Connection, timeout: float | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._conn = conn
        self.fired = False
        self._last = conn.rx
        self._quiet = 0
        self._step = timeout / 4 if timeout is not None else None
        self._handle: asyncio.TimerHandle | None = (
            self._loop.call_later(self._step, self._check) if self._step is not None else None
        )

    def _check(self) -> None:
        assert self._step is not None
        rx = self._conn.rx
        if rx != self._last:
            self._last, self._quiet = rx, 0
        else:
            self._quiet += 1
            if self._quiet >= 4:
                self._handle = None
                self.fired = True
                self._conn.abort()
                return
        self._handle = self._loop.call_later(self._step, self._check)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
