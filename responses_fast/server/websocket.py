"""Responses WebSocket mode at ``ws://HOST:PORT/v1/responses``.

One task per connection reads frames; each accepted ``response.create`` runs as a child task that
paces the scripted schedule onto the socket. Errors are ``error`` events and never close the
socket (protocol.md section 7), except the max-age error which is followed by a 1001 close. When
the client goes away the connection's task group is cancelled and its state dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from anyio.abc import TaskGroup
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

__all__ = ["ABORT_SCOPE_KEY", "authorized", "websocket_endpoint"]

ABORT_SCOPE_KEY = "responses_fast.abort"
_SEND_ERRORS = (WebSocketDisconnect, WebSocketDisconnected, OSError)


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
        self.cache: OrderedDict[str, StoredResponse] = OrderedDict()
        self.in_flight = False
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

    def lookup(self, response_id: str) -> StoredResponse | None:
        hit = self.cache.get(response_id)
        if hit is not None:
            return hit
        return self.state.store.get(response_id)

    def remember(self, stored: StoredResponse) -> None:
        self.cache[stored.id] = stored
        while len(self.cache) > self.state.config.connection_cache_size:
            self.cache.popitem(last=False)

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
        if self.in_flight:
            record.status, record.error_code = "error", "response_already_in_flight"
            await self.send_error(409, "response_already_in_flight",
                                  "A response is already in flight on this connection.",
                                  stream_id=sid, record=record)
            return
        try:
            prepared = prepare(self.state, create, self.lookup)
        except ApiFailure as exc:
            record.status, record.error_code = "error", exc.code
            if exc.code == "previous_response_not_found" and create.previous_response_id:
                self.cache.pop(create.previous_response_id, None)
            await self.send_failure(exc, sid, record)
            return
        record.response_id = prepared.response_id
        record.turn_index = prepared.plan.turn_index if prepared.generate else None
        record.context_items = prepared.context_items
        self.in_flight = True
        tg.start_soon(self.run, prepared, record, sid)

    async def run(self, prepared: Prepared, record: RequestRecord, sid: str | None) -> None:
        try:
            await self._run(prepared, record, sid)
        except _SEND_ERRORS:
            pass
        finally:
            self.in_flight = False
            if record.status == "in_progress":
                record.status = "cancelled"  # the client left or the server is shutting down

    async def _run(self, p: Prepared, record: RequestRecord, sid: str | None) -> None:
        events = response_schedule(p.plan, p.skeleton, p.usage, p.tokens_per_second, p.ttft)
        if not p.generate:
            events = [(t, e) for t, e in events if e["type"] != "response.in_progress"]
            for seq, (_, e) in enumerate(events):
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
        self.remember(stored)
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
        conn.cache.clear()
        state.stats.close_connection(cid)


async def _safe(coro: Any) -> None:
    try:
        await coro
    except _SEND_ERRORS:
        pass
