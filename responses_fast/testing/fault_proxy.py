"""A TCP proxy that injects network faults between a client and the local server.

The proxy understands just enough of the wire to cut it at meaningful places: it splits the
server->client byte stream into *units* (the HTTP response head, each WebSocket frame, each HTTP
body chunk, which the local server emits one SSE event per chunk) and fires a fault before or
after the unit that matches a byte pattern, e.g. ``b'"type":"response.created"'``. It also keeps
a wire log of what the client sent (WebSocket text frames unmasked, HTTP request bodies) and of
every ``response.completed`` the server streamed back, so tests can rebuild exactly what context
the model received (:meth:`FaultProxy.contexts`).

::

    async with serve(script) as server, FaultProxy(server.port) as proxy:
        proxy.plan(ProxyFault.drop(before=event("response.output_item.done")))
        async with AgentSession(..., base_url=proxy.base_url) as session:
            await session.run("go")

Faults are consumed per connection: :meth:`FaultProxy.plan` queues one fault (or ``None`` for a
clean connection) per new TCP connection, in order; :meth:`FaultProxy.always` applies one to every
connection. Actions:

- ``drop``: close both sides (FIN, or RST with ``reset=True``) at the trigger.
- ``half_frame``: forward the first half of the triggering unit (a WebSocket frame, an SSE chunk)
  and then close: the client holds a truncated frame.
- ``stall``: forward nothing for ``seconds`` at the trigger, then go on (``then="drop"``: close).
- ``refuse``: accept the TCP connection and close it at once (nothing reaches the server).

Everything runs on the caller's event loop (anyio); it is meant for tests and benchmarks only.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import anyio
import anyio.abc
import orjson
from anyio.abc import SocketAttribute

__all__ = [
    "FaultProxy",
    "FiredFault",
    "ProxyFault",
    "WireRequest",
    "check_context",
    "event",
]

Action = Literal["drop", "half_frame", "stall", "refuse"]

_BUF = 65536


def event(event_type: str) -> bytes:
    """The byte pattern of a JSON server event of this type (as the local server writes it)."""
    return b'"type":"' + event_type.encode() + b'"'


@dataclass(frozen=True, slots=True)
class ProxyFault:
    """One fault for one connection.

    The trigger is either a pattern in a server->client unit (``before``/``after`` the
    ``occurrence``-th unit on this connection that contains it) or ``after_bytes`` (this many
    server->client bytes forwarded, counted from the start of the connection). With neither, the
    fault fires at the first server byte.
    """

    action: Action
    before: bytes | None = None
    after: bytes | None = None
    occurrence: int = 1
    after_bytes: int | None = None
    seconds: float = 0.0
    then: Literal["continue", "drop"] = "continue"
    reset: bool = False

    def __post_init__(self) -> None:
        if self.before is not None and self.after is not None:
            raise ValueError("give 'before' or 'after', not both")
        if self.occurrence < 1:
            raise ValueError("occurrence counts from 1")

    @classmethod
    def drop(
        cls,
        *,
        before: bytes | None = None,
        after: bytes | None = None,
        occurrence: int = 1,
        after_bytes: int | None = None,
        reset: bool = False,
    ) -> ProxyFault:
        return cls("drop", before, after, occurrence, after_bytes, reset=reset)

    @classmethod
    def half_frame(cls, at: bytes, *, occurrence: int = 1) -> ProxyFault:
        """Forward half of the matching frame/chunk, then close."""
        return cls("half_frame", before=at, occurrence=occurrence)

    @classmethod
    def stall(
        cls,
        seconds: float,
        *,
        before: bytes | None = None,
        after: bytes | None = None,
        occurrence: int = 1,
        then: Literal["continue", "drop"] = "continue",
    ) -> ProxyFault:
        return cls("stall", before, after, occurrence, seconds=seconds, then=then)

    @classmethod
    def refuse(cls) -> ProxyFault:
        return cls("refuse")


@dataclass(frozen=True, slots=True)
class FiredFault:
    """A fault that fired: on which connection (0-based), which one, after how many bytes."""

    connection: int
    fault: ProxyFault
    bytes_forwarded: int


@dataclass(slots=True)
class WireRequest:
    """A request as the client put it on the wire: a WebSocket text frame or an HTTP body."""

    connection: int
    kind: Literal["ws", "http"]
    path: str
    body: dict[str, Any] | None  # None when it was not a JSON object
    #: The ``response.completed`` response the server streamed back for it, if it got that far.
    response: dict[str, Any] | None = None


# --------------------------------------------------------------------------- wire parsing


def _ws_frame_length(buf: bytes | bytearray) -> int | None:
    """Total length of the WebSocket frame at the start of ``buf``, None if incomplete."""
    if len(buf) < 2:
        return None
    b1 = buf[1]
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack_from("!H", buf, 2)[0]
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack_from("!Q", buf, 2)[0]
        pos = 10
    if b1 & 0x80:
        pos += 4
    total = pos + n
    return total if len(buf) >= total else None


def _ws_frame_payload(frame: bytes) -> tuple[int, bool, bytes]:
    """(opcode, fin, unmasked payload) of one complete frame."""
    b0, b1 = frame[0], frame[1]
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        pos = 4
    elif n == 127:
        pos = 10
    payload = frame[pos:]
    if b1 & 0x80:
        mask, payload = payload[:4], payload[4:]
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return b0 & 0x0F, bool(b0 & 0x80), payload


def _head_fields(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.split(b"\r\n")
    first = lines[0].decode("latin-1")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if b":" in line:
            k, _, v = line.partition(b":")
            headers[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
    return first, headers


class _Splitter:
    """Splits one direction of an HTTP/1.1 or WebSocket byte stream into units."""

    def __init__(self, *, client_side: bool) -> None:
        self.client_side = client_side
        self.buf = bytearray()
        self.mode: Literal["head", "ws", "length", "chunked", "raw"] = "head"
        self.remaining = 0
        self.start_line = ""
        self.headers: dict[str, str] = {}

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        """Units completed by ``data``: (kind, bytes) with kind head|frame|body|chunk|raw."""
        self.buf += data
        out: list[tuple[str, bytes]] = []
        while self.buf:
            unit = self._next()
            if unit is None:
                break
            out.append(unit)
        return out

    def flush(self) -> bytes:
        rest = bytes(self.buf)
        self.buf.clear()
        return rest

    def _take(self, n: int) -> bytes:
        unit = bytes(self.buf[:n])
        del self.buf[:n]
        return unit

    def _next(self) -> tuple[str, bytes] | None:
        buf = self.buf
        if self.mode == "raw":
            return "raw", self._take(len(buf))
        if self.mode == "ws":
            n = _ws_frame_length(buf)
            return None if n is None else ("frame", self._take(n))
        if self.mode == "length":
            n = min(self.remaining, len(buf))
            self.remaining -= n
            if self.remaining == 0:
                self.mode = "head"
            return "body", self._take(n)
        if self.mode == "chunked":
            eol = buf.find(b"\r\n")
            if eol < 0:
                return None
            try:
                size = int(bytes(buf[:eol]).split(b";")[0], 16)
            except ValueError:
                self.mode = "raw"
                return "raw", self._take(len(buf))
            if size == 0:
                end = buf.find(b"\r\n\r\n", eol)
                if end < 0:
                    return None
                self.mode = "head"
                return "chunk", self._take(end + 4)
            total = eol + 2 + size + 2
            return None if len(buf) < total else ("chunk", self._take(total))
        # head
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self._take(end + 4)
        first, headers = _head_fields(head)
        self.start_line, self.headers = first, headers
        if first.startswith("HTTP/1.1 101") or (
            self.client_side and headers.get("upgrade", "").lower() == "websocket"
        ):
            # The client's upgrade request has no body; its frames follow the server's 101.
            self.mode = "ws"
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            self.mode = "chunked"
        elif int(headers.get("content-length", "0") or 0) > 0:
            self.mode, self.remaining = "length", int(headers["content-length"])
        else:
            self.mode = "head"
        return "head", head


def _chunk_data(chunk: bytes) -> bytes:
    eol = chunk.find(b"\r\n")
    return chunk[eol + 2 : -2] if eol >= 0 else chunk


def _loads(data: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------- the proxy


@dataclass(slots=True)
class _Conn:
    index: int
    fault: ProxyFault | None
    client: anyio.abc.SocketStream
    upstream: anyio.abc.SocketStream | None = None
    forwarded: int = 0
    matches: int = 0
    fired: bool = False
    closed: bool = False
    ws_message: bytearray = field(default_factory=bytearray)
    http_path: str = ""


class FaultProxy:
    """A fault-injecting TCP proxy to ``upstream_host:upstream_port`` on a free local port."""

    def __init__(
        self, upstream_port: int, *, upstream_host: str = "127.0.0.1", host: str = "127.0.0.1"
    ) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.host = host
        self.port = 0
        self.connections = 0
        self.fired: list[FiredFault] = []
        #: Requests the client sent, in order (WebSocket text frames and HTTP bodies).
        self.requests: list[WireRequest] = []
        #: ``response.completed`` payloads the server streamed back, by response id.
        self.responses: dict[str, dict[str, Any]] = {}
        self._plan: list[ProxyFault | None] = []
        self._always: ProxyFault | None = None
        self._conns: dict[int, _Conn] = {}
        self._listener: anyio.abc.Listener[anyio.abc.SocketStream] | None = None
        self._tg: anyio.abc.TaskGroup | None = None

    # -- URLs

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v1/responses"

    # -- control

    def plan(self, *faults: ProxyFault | None) -> None:
        """Queue one fault (None: none) for each of the next connections, in order."""
        self._plan.extend(faults)

    def always(self, fault: ProxyFault | None) -> None:
        """Apply ``fault`` to every connection not covered by :meth:`plan` (None: stop)."""
        self._always = fault

    def clear(self) -> None:
        self._plan.clear()
        self._always = None

    def retarget(self, upstream_port: int, *, upstream_host: str | None = None) -> None:
        """Send new connections to another server (e.g. one restarted on another port)."""
        self.upstream_port = upstream_port
        if upstream_host is not None:
            self.upstream_host = upstream_host

    async def drop_all(self, *, reset: bool = False) -> None:
        """Cut every open connection now (a server restart, as the client sees it)."""
        for conn in list(self._conns.values()):
            await self._close(conn, reset=reset)

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    # -- lifecycle

    async def __aenter__(self) -> FaultProxy:
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=0)
        self._listener = listener
        self.port = listener.extra(SocketAttribute.local_port)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(listener.serve, self._handle)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        tg, self._tg = self._tg, None
        if tg is None:
            return
        with anyio.CancelScope(shield=True):
            for conn in list(self._conns.values()):
                await self._close(conn)
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.aclose()
            self._listener = None

    # -- per connection

    def _next_fault(self) -> ProxyFault | None:
        if self._plan:
            return self._plan.pop(0)
        return self._always

    async def _handle(self, client: anyio.abc.SocketStream) -> None:
        index = self.connections
        self.connections += 1
        conn = _Conn(index, self._next_fault(), client)
        self._conns[index] = conn
        try:
            if conn.fault is not None and conn.fault.action == "refuse":
                self._fire(conn)
                return
            try:
                conn.upstream = await anyio.connect_tcp(self.upstream_host, self.upstream_port)
            except OSError:
                return
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._pump_up, conn, tg.cancel_scope)
                await self._pump_down(conn)
                tg.cancel_scope.cancel()
        finally:
            await self._close(conn)
            self._conns.pop(index, None)

    def _fire(self, conn: _Conn) -> None:
        conn.fired = True
        assert conn.fault is not None
        self.fired.append(FiredFault(conn.index, conn.fault, conn.forwarded))

    async def _close(self, conn: _Conn, *, reset: bool = False) -> None:
        if conn.closed:
            return
        conn.closed = True
        for stream in (conn.client, conn.upstream):
            if stream is None:
                continue
            if reset:
                with contextlib.suppress(Exception):
                    sock = stream.extra(SocketAttribute.raw_socket)
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def _pump_up(self, conn: _Conn, scope: anyio.CancelScope) -> None:
        """Client -> server, unchanged; requests are recorded on the side."""
        assert conn.upstream is not None
        splitter = _Splitter(client_side=True)
        try:
            while True:
                data = await conn.client.receive(_BUF)
                for kind, unit in splitter.feed(data):
                    self._record_request(conn, splitter, kind, unit)
                await conn.upstream.send(data)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        scope.cancel()

    async def _pump_down(self, conn: _Conn) -> None:
        """Server -> client, unit by unit, applying the connection's fault."""
        assert conn.upstream is not None
        splitter = _Splitter(client_side=False)
        fault = conn.fault
        try:
            while True:
                data = await conn.upstream.receive(_BUF)
                for kind, unit in splitter.feed(data):
                    self._record_response(conn, kind, unit)
                    if not await self._forward(conn, fault, unit):
                        return
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            rest = splitter.flush()
            if rest:
                with contextlib.suppress(Exception):
                    await conn.client.send(rest)

    async def _send(self, conn: _Conn, data: bytes) -> None:
        if data:
            await conn.client.send(data)
            conn.forwarded += len(data)

    async def _forward(self, conn: _Conn, fault: ProxyFault | None, unit: bytes) -> bool:
        """Forward one unit; False when the fault closed the connection."""
        if fault is None or conn.fired:
            await self._send(conn, unit)
            return True
        if fault.after_bytes is not None:
            room = fault.after_bytes - conn.forwarded
            if room >= len(unit):
                await self._send(conn, unit)
                return True
            await self._send(conn, unit[: max(room, 0)])
            return await self._act(conn, fault, unit[max(room, 0) :])
        pattern = fault.before if fault.before is not None else fault.after
        if pattern is not None:
            if pattern not in unit:
                await self._send(conn, unit)
                return True
            conn.matches += 1
            if conn.matches < fault.occurrence:
                await self._send(conn, unit)
                return True
        if fault.after is not None:
            await self._send(conn, unit)
            return await self._act(conn, fault, b"")
        return await self._act(conn, fault, unit)

    async def _act(self, conn: _Conn, fault: ProxyFault, pending: bytes) -> bool:
        """Fire ``fault`` with ``pending`` (not yet forwarded bytes of the current unit)."""
        self._fire(conn)
        if fault.action == "stall":
            await anyio.sleep(fault.seconds)
            if fault.then == "drop":
                await self._close(conn, reset=fault.reset)
                return False
            await self._send(conn, pending)
            return True
        if fault.action == "half_frame" and pending:
            await self._send(conn, pending[: max(1, len(pending) // 2)])
        await self._close(conn, reset=fault.reset)
        return False

    # -- wire log

    def _record_request(self, conn: _Conn, sp: _Splitter, kind: str, unit: bytes) -> None:
        if kind == "head":
            conn.http_path = sp.start_line.split(" ")[1] if " " in sp.start_line else ""
        elif kind == "body":
            self.requests.append(WireRequest(conn.index, "http", conn.http_path, _loads(unit)))
        elif kind == "frame":
            opcode, fin, payload = _ws_frame_payload(unit)
            if opcode not in (0, 1):
                return
            conn.ws_message += payload
            if fin:
                body = _loads(bytes(conn.ws_message))
                conn.ws_message.clear()
                self.requests.append(WireRequest(conn.index, "ws", conn.http_path, body))

    def _record_response(self, conn: _Conn, kind: str, unit: bytes) -> None:
        if b'"response.completed"' not in unit:
            return
        if kind == "frame":
            data = _loads(_ws_frame_payload(unit)[2])
        elif kind == "chunk":
            body = _chunk_data(unit)
            line = next((ln for ln in body.split(b"\n") if ln.startswith(b"data:")), b"")
            data = _loads(line[5:].strip())
        else:
            return
        if data and data.get("type") == "response.completed":
            response = data.get("response")
            if isinstance(response, dict) and isinstance(response.get("id"), str):
                self.responses[response["id"]] = response
                # One response in flight per connection: it answers the newest request there.
                for req in reversed(self.requests):
                    if req.connection == conn.index:
                        req.response = response
                        break

    # -- what the model saw

    def contexts(self) -> list[list[dict[str, Any]]]:
        """The full context of every generating Responses request, as the model received it.

        A request that continues ``previous_response_id`` is the parent's context plus the
        parent's output plus its own input. A parent the proxy never saw complete contributes
        nothing (it cannot have been a valid continuation).
        """
        full: dict[str, list[dict[str, Any]]] = {}
        out: list[list[dict[str, Any]]] = []
        for req in self.requests:
            body = req.body
            if body is None:
                continue
            if req.kind == "http" and req.path.endswith("/chat/completions"):
                out.append(_chat_context(body.get("messages")))
                continue
            if req.kind == "http" and not req.path.endswith("/responses"):
                continue
            if req.kind == "ws" and body.get("type") != "response.create":
                continue
            ctx = list(full.get(str(body.get("previous_response_id")), []))
            raw = body.get("input") or []
            if isinstance(raw, str):
                raw = [{"type": "message", "role": "user", "content": raw}]
            ctx.extend(i for i in raw if isinstance(i, dict))
            if body.get("generate") is not False:
                out.append(ctx)
            response = req.response
            if response is not None:
                output = [i for i in response.get("output") or [] if isinstance(i, dict)]
                full[str(response["id"])] = ctx + output
        return out


def _chat_context(messages: Any) -> list[dict[str, Any]]:
    """Chat messages as Responses-style items (tool calls and tool results keep their ids)."""
    items: list[dict[str, Any]] = []
    for m in messages if isinstance(messages, list) else []:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "tool":
            items.append({"type": "function_call_output", "call_id": m.get("tool_call_id"),
                          "output": m.get("content")})
            continue
        items.append({"type": "message", "role": m.get("role"), "content": m.get("content")})
        for call in m.get("tool_calls") or []:
            if isinstance(call, dict):
                fn = call.get("function") or {}
                items.append({"type": "function_call", "call_id": call.get("id"),
                              "name": fn.get("name"), "arguments": fn.get("arguments")})
    return items


def check_context(context: Sequence[dict[str, Any]]) -> list[str]:
    """Problems of one context: duplicate call ids or outputs, outputs without their call."""
    problems: list[str] = []
    calls: set[str] = set()
    outputs: set[str] = set()
    for item in context:
        t = item.get("type")
        cid = str(item.get("call_id"))
        if t == "function_call":
            if cid in calls:
                problems.append(f"function_call {cid} twice")
            calls.add(cid)
        elif t == "function_call_output":
            if cid in outputs:
                problems.append(f"output of {cid} twice")
            if cid not in calls:
                problems.append(f"output of {cid} before its call")
            outputs.add(cid)
    return problems

