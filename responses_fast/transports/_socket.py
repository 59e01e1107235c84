"""One WebSocket connection whose frames are decoded in the event loop's read callback.

No task and no wake-up per frame: bytes read from the socket are fed, inside the asyncio
protocol's ``data_received``, to a frame parser, and each whole message goes synchronously to a
:class:`MessageSink` (the lane router of ``websocket.py``), which decides whom to wake, if anyone.

Two backends behind :func:`open_connection`:

- ``picows`` (the optional ``fast`` extra, chosen when installed): a Cython parser, the fastest
  Python WebSocket client measured here (issue 15);
- ``websockets``: its sans-I/O :class:`websockets.client.ClientProtocol` (the same handshake and
  frame code as its asyncio client) under a plain :class:`asyncio.Protocol`.

Both keep a keep-alive (a ping after 20 s without data; the socket is aborted when nothing at all
comes back within 20 s more), answer the server's pings, send no compression offer, follow no
redirects (the ``Authorization`` header must not travel to another host) and reassemble
fragmented messages. Errors are translated by ``_errors.translate`` (the one table).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Mapping
from typing import Any, Literal, Protocol, cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri
from websockets.version import version as _websockets_version

from ..errors import ConnectError, ConnectionLost
from ._errors import safe_url, translate
from ._logging import wire_logger

__all__ = [
    "BACKEND_ENV",
    "Backend",
    "Connection",
    "MessageSink",
    "available_backends",
    "open_connection",
]

log = logging.getLogger("responses_fast.transports.websocket")
_WIRE_LOG = wire_logger("responses_fast.transports.websocket.wire")

Backend = Literal["auto", "picows", "websockets"]

#: Overrides ``backend="auto"`` (``picows`` or ``websockets``): to compare or debug the two.
BACKEND_ENV = "RESPONSES_FAST_WS_BACKEND"
KEEPALIVE_INTERVAL = 20.0
#: Seconds to wait for the server to drop the TCP connection after the closing handshake.
CLOSE_LINGER = 2.0
KEEPALIVE_TIMEOUT = 20.0
_USER_AGENT = f"responses-fast (websockets/{_websockets_version})"

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


class MessageSink(Protocol):
    """Receives every whole text/binary message, in the callback that read it."""

    def on_message(self, data: bytes) -> None: ...

    def on_closed(self, exc: Exception) -> None:
        """The connection is gone; ``exc`` is a responses_fast error (ConnectionLost)."""


class Connection:
    """What the transport needs from an open connection, whatever the backend."""

    backend: str = "?"
    #: Messages received so far (the stall watchdog compares it, no clock read per message).
    rx: int = 0

    def send_text(self, data: bytes) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def abort(self) -> None:
        """Drop the TCP connection now (the sink hears ``on_closed``)."""
        raise NotImplementedError

    async def close(self, grace: float) -> None:
        """The closing handshake, bounded by ``grace`` seconds; then the TCP connection drops."""
        raise NotImplementedError


def available_backends() -> tuple[str, ...]:
    """The backends importable here, fastest first."""
    try:
        import picows  # noqa: F401
    except ImportError:
        return ("websockets",)
    return ("picows", "websockets")


async def open_connection(
    url: str,
    sink: MessageSink,
    *,
    headers: Mapping[str, str],
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float | None,
    max_size: int | None,
    backend: Backend = "auto",
) -> Connection:
    """Open ``url`` (ws/wss) and complete the handshake; errors are responses_fast errors."""
    if backend == "auto":
        forced = os.environ.get(BACKEND_ENV, "").strip().lower()
        if forced in ("picows", "websockets"):
            backend = forced  # type: ignore[assignment]
        else:
            backend = "picows" if "picows" in available_backends() else "websockets"
    secure = url.startswith("wss:")
    if secure and ssl_context is None:
        from ._http import tls_context

        ssl_context = tls_context()
    try:
        tls = ssl_context if secure else None
        async with asyncio.timeout(connect_timeout):
            if backend == "picows":
                return await _open_picows(url, sink, headers, tls, max_size)
            return await _open_sansio(url, sink, headers, tls, max_size)
    except Exception as exc:
        mapped = translate(exc, "connect", url)
        if mapped is None:
            raise
        raise mapped from exc


# ------------------------------------------------------------------------------------ websockets


class _SansIOConnection(Connection, asyncio.Protocol):
    """websockets' sans-I/O client protocol under a plain asyncio protocol."""

    backend = "websockets"

    def __init__(self, ws: ClientProtocol, sink: MessageSink) -> None:
        self._ws = ws
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[Response] = self._loop.create_future()
        self._lost = self._loop.create_future()
        self._fragments: list[bytes] | None = None
        self._eof = False
        self._reads = 0
        self._reads_seen = 0
        self._ping_out = False
        self._keepalive: asyncio.TimerHandle | None = None
        self.rx = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self._transport = cast(asyncio.Transport, transport)
        self._write()

    def data_received(self, data: bytes) -> None:
        self._reads += 1
        ws = self._ws
        ws.receive_data(data)
        events = ws.events_received()
        if events:
            self._dispatch(events)
        if ws.writes:  # pong, close reply
            self._write()

    def eof_received(self) -> bool | None:
        self._receive_eof()
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._receive_eof()
        if self._keepalive is not None:
            self._keepalive.cancel()
        if not self.handshake.done():
            reason = self._ws.handshake_exc or exc or ConnectionError("closed during the handshake")
            self.handshake.set_exception(reason)
        if not self._lost.done():
            self._lost.set_result(None)
        error = translate(self._ws.close_exc, "stream")
        self._sink.on_closed(error if error is not None else ConnectionLost("websocket closed"))

    # internals

    def _receive_eof(self) -> None:
        if self._eof:
            return
        self._eof = True
        self._ws.receive_eof()
        events = self._ws.events_received()
        if events:
            self._dispatch(events)
        self._write()

    def _dispatch(self, events: list[Any]) -> None:
        sink = self._sink
        for event in events:
            if event.__class__ is Frame:
                op = event.opcode
                if op is _TEXT or op is _BINARY:
                    self.rx += 1
                    if event.fin:
                        sink.on_message(bytes(event.data))
                    else:
                        self._fragments = [bytes(event.data)]
                elif op is _CONT and self._fragments is not None:
                    self._fragments.append(bytes(event.data))
                    if event.fin:
                        data, self._fragments = b"".join(self._fragments), None
                        sink.on_message(data)
                # ping, pong and close: the sans-I/O protocol queues the replies itself
            elif isinstance(event, Response) and not self.handshake.done():
                if self._ws.handshake_exc is not None:
                    self.handshake.set_exception(self._ws.handshake_exc)
                else:
                    self.handshake.set_result(event)
                    self._arm_keepalive()

    def _write(self) -> None:
        transport = self._transport
        if transport is None:
            return
        for chunk in self._ws.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof() and not transport.is_closing():
                transport.write_eof()

    def _arm_keepalive(self) -> None:
        self._keepalive = self._loop.call_later(KEEPALIVE_INTERVAL, self._tick)

    def _tick(self) -> None:
        """Every interval: ping a silent connection; drop it if the ping brought nothing back."""
        if self.closed:
            return
        reads = self._reads
        if reads == self._reads_seen:
            if self._ping_out:
                log.debug("no answer to a keep-alive ping: dropping the connection")
                self.abort()
                return
            if self._ws.state is State.OPEN:
                self._ws.send_ping(b"ka")
                self._write()
                self._ping_out = True
        else:
            self._ping_out = False
        self._reads_seen = reads
        self._keepalive = self._loop.call_later(KEEPALIVE_TIMEOUT, self._tick)

    # Connection

    def send_text(self, data: bytes) -> None:
        ws = self._ws
        if ws.state is not State.OPEN:
            raise ConnectionLost("websocket is closed", close_code=ws.close_code)
        ws.send_text(data)
        self._write()

    @property
    def closed(self) -> bool:
        return self._lost.done()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def close(self, grace: float) -> None:
        if self.closed:
            return
        if self._ws.state is State.OPEN:
            self._ws.send_close()
            self._write()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await asyncio.shield(self._lost)
        self.abort()


async def _open_sansio(
    url: str,
    sink: MessageSink,
    headers: Mapping[str, str],
    ssl_context: ssl.SSLContext | None,
    max_size: int | None,
) -> Connection:
    uri = parse_uri(url)
    ws = ClientProtocol(uri, max_size=max_size, logger=_WIRE_LOG)
    request = ws.connect()
    request.headers["User-Agent"] = _USER_AGENT
    for key, value in headers.items():
        request.headers[key] = value
    ws.send_request(request)
    loop = asyncio.get_running_loop()
    transport, conn = await loop.create_connection(
        lambda: _SansIOConnection(ws, sink),
        uri.host,
        uri.port,
        ssl=ssl_context,
        server_hostname=uri.host if ssl_context is not None else None,
    )
    try:
        await conn.handshake
    except BaseException:
        transport.abort()
        raise
    return conn


# ---------------------------------------------------------------------------------------- picows


def _picows_connection_class() -> type[Connection]:
    """The picows listener class, built on first use (picows is an optional dependency)."""
    global _PICOWS_CLASS
    if _PICOWS_CLASS is not None:
        return _PICOWS_CLASS
    import picows

    text, binary, cont, close = (
        picows.WSMsgType.TEXT,
        picows.WSMsgType.BINARY,
        picows.WSMsgType.CONTINUATION,
        picows.WSMsgType.CLOSE,
    )

    class PicowsConnection(Connection, picows.WSListener):
        backend = "picows"

        def __init__(self, sink: MessageSink) -> None:
            self._sink = sink
            self._transport: Any = None
            self._fragments: list[bytes] | None = None
            self._close_code: int | None = None
            self._closed = False
            self._linger: asyncio.TimerHandle | None = None
            self.rx = 0

        def on_ws_connected(self, transport: Any) -> None:
            self._transport = transport

        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            kind = frame.msg_type
            if kind is text or kind is binary:
                self.rx += 1
                if frame.fin:
                    self._sink.on_message(frame.get_payload_as_bytes())
                else:
                    self._fragments = [frame.get_payload_as_bytes()]
            elif kind is cont and self._fragments is not None:
                self._fragments.append(frame.get_payload_as_bytes())
                if frame.fin:
                    data, self._fragments = b"".join(self._fragments), None
                    self._sink.on_message(data)
            elif kind is close:
                code = frame.get_close_code()
                self._close_code = int(code.value if hasattr(code, "value") else code)
                if not transport.is_close_frame_sent:
                    transport.send_close(code)
                # The server closes the TCP connection after the closing handshake (RFC 6455
                # 7.1.1); closing it first would leave the server mid-close. Give it a moment.
                if self._linger is None:
                    loop = asyncio.get_running_loop()
                    self._linger = loop.call_later(CLOSE_LINGER, transport.disconnect, False)
            # ping: picows answers (enable_auto_pong); pong: its keep-alive consumes it

        def on_ws_disconnected(self, transport: Any) -> None:
            self._closed = True
            if self._linger is not None:
                self._linger.cancel()
            code = self._close_code
            self._sink.on_closed(
                ConnectionLost(f"websocket closed during stream (code {code})", close_code=code)
            )

        def send_text(self, data: bytes) -> None:
            transport = self._transport
            if self._closed or transport is None or transport.is_close_frame_sent:
                raise ConnectionLost("websocket is closed", close_code=self._close_code)
            transport.send(text, data)

        @property
        def closed(self) -> bool:
            return self._closed

        def abort(self) -> None:
            if self._transport is not None and not self._closed:
                self._transport.disconnect(graceful=False)

        async def close(self, grace: float) -> None:
            transport = self._transport
            if transport is None or self._closed:
                return
            if not transport.is_close_frame_sent:
                transport.send_close(picows.WSCloseCode.OK)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await transport.wait_disconnected()
            transport.disconnect(graceful=False)

    _PICOWS_CLASS = PicowsConnection
    return PicowsConnection


_PICOWS_CLASS: type[Connection] | None = None


async def _open_picows(
    url: str,
    sink: MessageSink,
    headers: Mapping[str, str],
    ssl_context: ssl.SSLContext | None,
    max_size: int | None,
) -> Connection:
    import picows

    cls = _picows_connection_class()
    extra = {"User-Agent": _USER_AGENT, **headers}
    _, conn = await picows.ws_connect(
        lambda: cls(sink),  # type: ignore[call-arg, arg-type]
        url,
        ssl_context=ssl_context,
        websocket_handshake_timeout=None,  # the caller's connect timeout bounds it all
        enable_auto_ping=True,
        auto_ping_idle_timeout=KEEPALIVE_INTERVAL,
        auto_ping_reply_timeout=KEEPALIVE_TIMEOUT,
        max_frame_size=max_size if max_size is not None else 2**62,
        extra_headers=extra,
        max_redirects=0,  # the Authorization header must not follow a redirect elsewhere
        # The event loop's own transports: aiofastnet's TLS close skips the close_notify exchange,
        # so a server could still hold the connection as "closing" when the client moved on.
        use_aiofastnet=False,
        # An adapter, not the Logger: picows hangs a child Logger per connection under a Logger,
        # whose records would skip the credential filter of ours (its level 9 logs the raw
        # upgrade request, Authorization included).
        logger_name=logging.LoggerAdapter(_WIRE_LOG),
    )
    if not isinstance(conn, Connection):  # picows gives no listener when the peer hung up
        raise ConnectError(f"could not connect to {safe_url(url)}: closed during the handshake")
    return conn
