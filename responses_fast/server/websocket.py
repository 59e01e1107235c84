"""Responses WebSocket mode at ``ws://HOST:PORT/v1/responses``.

One task per connection reads frames. Each ``response.create`` goes to its lane (``stream_id``;
absent = the default lane): a lane is a FIFO served by its own task, so lanes run concurrently and
a lane never overlaps itself (protocol.md sections 6.3 and 11.7). At most
``MAX_ACTIVE_RESPONSES`` responses stream at once per connection; a response that must wait for a
slot announces itself with ``response.queued``. Every lane keeps its own cache of recent responses
for ``previous_response_id`` (forks from another lane's response find it too). Errors are
``error`` events and never close the socket (section 7), except the max-age error which is
followed by a 1001 close. When the client goes away the connection's task group is cancelled and
its state dropped.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from responses_fast.errors import RemoteProtocolError
from responses_fast.protocol.client_events import (
    ResponseCreate,
    ResponseSteer,
    parse_client_event,
)

from .engine import ApiFailure, Prepared, ServerState, StoredResponse, prepare
from .faults import Fault
from .scripted import response_schedule
from .stats import RequestRecord

__all__ = [
    "ABORT_SCOPE_KEY",
    "MAX_ACTIVE_RESPONSES",
    "MAX_NAMED_LANES",
    "authorized",
    "valid_stream_id",
    "websocket_endpoint",
]

ABORT_SCOPE_KEY = "responses_fast.abort"
MAX_ACTIVE_RESPONSES = 16  # per connection; further creates wait (response.queued)
MAX_NAMED_LANES = 32  # distinct named stream ids per connection; the default lane not counted
_STREAM_ID = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_SEND_ERRORS = (WebSocketDisconnect, WebSocketDisconnected, OSError)
_Queued = tuple[ResponseCreate, RequestRecord]


def valid_stream_id(value: str) -> bool:
    """1-256 characters of ``[A-Za-z0-9_.-]`` (the rule the SDK's lane helper applies)."""
    return _STREAM_ID.fullmatch(value) is not None


@dataclass
class _Lane:
    """One ``stream_id``: a FIFO of creates, its own task, its own response cache."""

    send: MemoryObjectSendStream[_Queued]
    receive: MemoryObjectReceiveStream[_Queued]
    cache: OrderedDict[str, StoredResponse] = field(default_factory=OrderedDict)


def authorized(headers: Any, api_key: str | None) -> bool:
    if api_key is None:
        return True
    value: str = headers.get("authorization", "")
    return value == f"Bearer {api_key}"


def auth_error_body() -> dict[str, Any]:
    return {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                      "code": "invalid_api_key", "param": None}}


class _Connection:
    def __init__(self, ws: WebSocket, state: ServerState, cid: str) -> None:
        self.ws = ws
        self.state = state
        self.cid = cid
        self.lanes: dict[str | None, _Lane] = {}
        self.named_lanes: set[str] = set()  # every named id ever used (closing does not free one)
        self.slots = anyio.Semaphore(MAX_ACTIVE_RESPONSES)
        self.opened_at = anyio.current_time()
        self.closed = False

    # -- sending

    async def send(self, event: dict[str, Any], record: RequestRecord | None = None) -> None:
        text = orjson.dumps(event).decode()
        await self.ws.send_text(text)
        self.state.stats.add_out(self.cid, len(text.encode()), record)

    async def send_error(
        self, status: int, code: str, message: str, *, param: str | None = None,
        etype: str | None = None, stream_id: str | None = None,
        headers: dict[str, str] | None = None, record: RequestRecord | None = None,
    ) -> None:
        error: dict[str, Any] = {
            "type": etype or ("server_error" if status >= 500 else "invalid_request_error"),
            "code": code, "message": message, "param": param,
        }
        if headers:
            error["headers"] = headers
        event: dict[str, Any] = {"type": "error", "status": status, "sequence_number": None,
                                 "error": error}
        if stream_id is not None:
            event["stream_id"] = stream_id
        await self.send(event, record)

    async def send_failure(self, exc: ApiFailure, stream_id: str | None,
                           record: RequestRecord | None = None) -> None:
        await self.send_error(exc.status, exc.code, exc.message, param=exc.param, etype=exc.type,
                              stream_id=stream_id, headers=exc.headers or None, record=record)

    # -- lookup

    def lookup(self, lane: _Lane, response_id: str) -> StoredResponse | None:
        """The lane's own cache, then another lane's (a fork), then the process-wide store."""
        hit = lane.cache.get(response_id)
        if hit is not None:
            return hit
        for other in self.lanes.values():
            hit = other.cache.get(response_id)
            if hit is not None:
                return hit
        return self.state.store.get(response_id)

    def remember(self, lane: _Lane, stored: StoredResponse) -> None:
        lane.cache[stored.id] = stored
        while len(lane.cache) > self.state.config.connection_cache_size:
            lane.cache.popitem(last=False)

    def clear(self) -> None:
        for lane in self.lanes.values():
            lane.cache.clear()
            lane.send.close()
        self.lanes.clear()

    # -- frames

    async def handle(self, text: str, tg: TaskGroup) -> None:
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            await self.send_error(400, "invalid_json", "The frame is not valid JSON.")
            return
        try:
            event = parse_client_event(text)
        except RemoteProtocolError as exc:
            await self.send_error(400, "invalid_request_error", f"Invalid client event: {exc}")
            return
        if isinstance(event, ResponseCreate):
            await self.create(event, text, tg)
        elif isinstance(event, ResponseSteer):
            await self.send({
                "type": "response.steer.failed", "sequence_number": 0,
                "error": {"type": "invalid_request_error", "code": "steering_not_supported",
                          "message": "Steering is not supported by this server."},
                "steer": {"input": event.input,
                          "previous_response_id": event.previous_response_id},
            })
        else:
            await self.send_error(400, "unknown_event_type",
                                  f"Unsupported client event type '{event.type}'.", param="type")

    async def create(self, create: ResponseCreate, text: str, tg: TaskGroup) -> None:
        sid = create.stream_id
        if anyio.current_time() - self.opened_at >= self.state.config.max_connection_age:
            await self.send_error(
                400, "websocket_connection_limit_reached",
                "Responses websocket connection limit reached. Create a new websocket "
                "connection to continue.", stream_id=sid)
            self.closed = True
            await self.ws.close(1001, "connection age limit")
            return
        n_items = (1 if isinstance(create.input, str) else len(create.input or []))
        record = RequestRecord(
            connection_id=self.cid, endpoint="ws", model=create.model, input_items=n_items,
            previous_response_id=create.previous_response_id, bytes_in=len(text.encode()),
            store=create.store, generate=create.generate is not False, stream_id=sid,
        )
        self.state.stats.add_request(record)
        if sid is not None and not valid_stream_id(sid):
            record.status, record.error_code = "error", "invalid_stream_id"
            await self.send_error(
                400, "invalid_stream_id",
                "Invalid 'stream_id': expected 1 to 256 characters of [A-Za-z0-9_.-].",
                param="stream_id", stream_id=sid, record=record)
            return
        if sid is not None and sid not in self.named_lanes:
            if len(self.named_lanes) >= MAX_NAMED_LANES:
                record.status, record.error_code = "error", "websocket_stream_limit_reached"
                await self.send_error(
                    400, "websocket_stream_limit_reached",
                    f"This connection already used {MAX_NAMED_LANES} stream ids. Create a new "
                    "websocket connection to use more.", param="stream_id", stream_id=sid,
                    record=record)
                return
            self.named_lanes.add(sid)
        lane = self.lanes.get(sid)
        if lane is None:
            send, receive = anyio.create_memory_object_stream[_Queued](math.inf)
            lane = self.lanes[sid] = _Lane(send, receive)
            tg.start_soon(self.serve_lane, lane, sid)
        lane.send.send_nowait((create, record))

    async def serve_lane(self, lane: _Lane, sid: str | None) -> None:
        """Play the lane's creates one after another (FIFO, no overlap)."""
        async with lane.receive:
            async for create, record in lane.receive:
                try:
                    await self.play(lane, create, record, sid)
                except _SEND_ERRORS:
                    pass
                finally:
                    if record.status == "in_progress":
                        record.status = "cancelled"  # the client left or the server stops

    async def play(self, lane: _Lane, create: ResponseCreate, record: RequestRecord,
                   sid: str | None) -> None:
        try:
            prepared = prepare(self.state, create, lambda rid: self.lookup(lane, rid))
        except ApiFailure as exc:
            record.status, record.error_code = "error", exc.code
            if exc.code == "previous_response_not_found" and create.previous_response_id:
                lane.cache.pop(create.previous_response_id, None)
            await self.send_failure(exc, sid, record)
            return
        record.response_id = prepared.response_id
        record.turn_index = prepared.plan.turn_index if prepared.generate else None
        record.context_items = prepared.context_items
        queued = False
        if self.slots.value == 0:  # every slot busy: say so, then wait for one
            queued = True
            event: dict[str, Any] = {
                "type": "response.queued", "sequence_number": 0,
                "response": {**prepared.skeleton, "status": "queued"}}
            if sid is not None:
                event["stream_id"] = sid
            await self.send(event, record)
        async with self.slots:
            await self._run(lane, prepared, record, sid, queued)

    async def _run(self, lane: _Lane, p: Prepared, record: RequestRecord, sid: str | None,
                   queued: bool) -> None:
        events = response_schedule(p.plan, p.skeleton, p.usage, p.tokens_per_second, p.ttft)
        if not p.generate:
            events = [(t, e) for t, e in events if e["type"] != "response.in_progress"]
        if not p.generate or queued:  # numbering goes on after response.queued (number 0)
            for seq, (_, e) in enumerate(events, start=1 if queued else 0):
                e["sequence_number"] = seq
        fault = p.fault
        t0 = anyio.current_time()
        for i, (offset, event) in enumerate(events):
            if fault is not None and i == fault.after_events:
                record.fault = fault.kind
                if await self._apply_fault(fault, sid, record):
                    return
            delay = t0 + offset - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)  # absolute schedule: late events go out at once
            if sid is not None:
                event = {**event, "stream_id": sid}
            await self.send(event, record)
        stored = p.stored()
        self.remember(lane, stored)
        if p.store:
            self.state.save(stored)
        record.status = "completed"

    async def _apply_fault(self, fault: Fault, sid: str | None, record: RequestRecord) -> bool:
        """Apply a fault; True when the response ends here."""
        if fault.kind == "stall":
            await anyio.sleep(fault.seconds)
            return False
        record.status = "fault"
        if fault.kind == "close":
            self.closed = True
            abort: Callable[[], None] | None = self.ws.scope.get(ABORT_SCOPE_KEY)
            if fault.code == 1006 and abort is not None:
                abort()
            else:
                await self.ws.close(fault.code, "emulated fault")
            return True
        exc = ApiFailure.from_fault(fault)
        record.error_code = exc.code
        await self.send_failure(exc, sid, record)
        return True


async def websocket_endpoint(ws: WebSocket) -> None:
    state: ServerState = ws.app.state.responses_fast
    if not authorized(ws.headers, state.config.api_key):
        await ws.send_denial_response(JSONResponse(auth_error_body(), status_code=401))
        return
    await ws.accept()
    cid = state.stats.open_websocket()
    conn = _Connection(ws, state, cid)
    try:
        async with anyio.create_task_group() as tg:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if conn.closed:
                    continue  # closing: ignore frames until the peer's disconnect arrives
                if text is None:
                    data = message.get("bytes") or b""
                    state.stats.add_in(cid, len(data))
                    await _safe(conn.send_error(400, "invalid_request_error",
                                                "Binary frames are not supported."))
                    continue
                state.stats.add_in(cid, len(text.encode()))
                await _safe(conn.handle(text, tg))
            tg.cancel_scope.cancel()
    except WebSocketDisconnected:
        pass
    finally:
        conn.clear()
        state.stats.close_connection(cid)


async def _safe(coro: Any) -> None:
    try:
        await coro
    except _SEND_ERRORS:
        pass
