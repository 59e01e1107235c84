"""Responses over HTTP: ``POST /v1/responses`` (SSE or JSON), ``GET /v1/responses/{id}``, plus
``GET /v1/models``, ``GET /v1/tcp_warming`` and the ``x-request-id`` middleware.

SSE bodies are ``event: <type>\\ndata: <json>\\n\\n`` per event and end after the terminal event.
Errors before streaming are ``{"error": {...}}`` with the status; mid-stream errors are the flat
``{"type":"error","code","message","param","sequence_number"}`` event (protocol.md section 8.4).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from responses_fast.protocol.client_events import ResponseCreate
from responses_fast.protocol.sse import encode_sse

from .engine import ApiFailure, Prepared, ServerState, prepare
from .faults import Fault
from .scripted import ScheduledEvent, response_schedule
from .stats import RequestRecord
from .websocket import auth_error_body, authorized

__all__ = [
    "FaultAbort",
    "RequestIdMiddleware",
    "connection_id",
    "cut_body",
    "error_response",
    "http_routes",
    "paced",
    "read_json_body",
]


class FaultAbort(Exception):
    """Raised inside a streaming body to make uvicorn drop the connection (a close fault)."""

    responses_fast_fault = True


class RequestIdMiddleware:
    """Adds ``x-request-id`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ("req_" + secrets.token_hex(12)).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def connection_id(request: Request) -> str:
    client = request.client
    return f"{client.host}:{client.port}" if client else "unknown"


def error_response(exc: ApiFailure) -> JSONResponse:
    return JSONResponse({"error": exc.body()}, status_code=exc.status, headers=exc.headers)


async def read_json_body(request: Request, state: ServerState) -> tuple[str, int, Any]:
    """(connection id, body size, parsed JSON); raises ApiFailure for a bad key or bad JSON."""
    cid = connection_id(request)
    state.stats.http_connection(cid)
    body = await request.body()
    state.stats.add_in(cid, len(body))
    if not authorized(request.headers, state.config.api_key):
        raise ApiFailure(401, "invalid_api_key", auth_error_body()["error"]["message"])
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiFailure(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiFailure(400, "invalid_request_error", "The request body must be a JSON object.")
    return cid, len(body), data


async def paced(schedule: Sequence[tuple[float, Any]]) -> AsyncIterator[tuple[int, Any]]:
    """Yield ``(index, item)`` when due on the absolute schedule t0 + offset (late: at once)."""
    t0 = anyio.current_time()
    for i, (offset, item) in enumerate(schedule):
        delay = t0 + offset - anyio.current_time()
        if delay > 0:
            await anyio.sleep(delay)
        yield i, item


async def hit_fault(fault: Fault | None, index: int, record: RequestRecord) -> bool:
    """Apply a script fault due before event ``index`` of a streamed HTTP body.

    A stall sleeps and the stream goes on; a close aborts the body (:class:`FaultAbort`).
    Returns True when the stream must end now with the endpoint's own error payload.
    """
    if fault is None or index != fault.after_events:
        return False
    record.fault = fault.kind
    if fault.kind == "stall":
        await anyio.sleep(fault.seconds)
        return False
    record.status = "fault"
    if fault.kind == "close":
        raise FaultAbort("emulated connection drop")
    return True


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.responses_fast
    return state


async def create_response(request: Request) -> Response:
    state = _state(request)
    try:
        cid, size, data = await read_json_body(request, state)
    except ApiFailure as exc:
        return error_response(exc)
    data.pop("type", None)
    record: RequestRecord | None = None
    try:
        try:
            create = ResponseCreate.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ApiFailure(400, "invalid_request_error", f"Invalid '{loc}': {first['msg']}",
                             param=loc or None) from None
        n_items = 1 if isinstance(create.input, str) else len(create.input or [])
        record = state.stats.add_request(RequestRecord(
            connection_id=cid, endpoint="http", model=create.model, input_items=n_items,
            previous_response_id=create.previous_response_id, bytes_in=size,
            stream=bool(create.stream), store=create.store,
        ))
        prepared = prepare(state, create, state.store.get)
        record.response_id = prepared.response_id
        record.turn_index = prepared.plan.turn_index
        record.context_items = prepared.context_items
        fault = prepared.fault
        if fault is not None and (fault.kind == "http_status" or (
            fault.kind == "error" and (fault.after_events == 0 or not create.stream)
        )):
            record.fault = fault.kind
            raise ApiFailure.from_fault(fault)
    except ApiFailure as exc:
        response = error_response(exc)
        if record is not None:
            record.status, record.error_code = "error", exc.code
            state.stats.add_out(cid, len(response.body), record)
        return response
    events = response_schedule(prepared.plan, prepared.skeleton, prepared.usage,
                               prepared.tokens_per_second, prepared.ttft)
    if create.stream:
        return StreamingResponse(
            _sse_body(state, cid, record, prepared, events),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache"},
        )
    return await _json_response(state, cid, record, prepared, events)


async def _sse_body(
    state: ServerState, cid: str, record: RequestRecord, p: Prepared,
    events: list[ScheduledEvent],
) -> AsyncIterator[bytes]:
    fault = p.fault
    try:
        async for i, event in paced(events):
            if fault is not None and await hit_fault(fault, i, record):
                code, _etype, message = fault.error_fields()
                err = {"type": "error", "code": code, "message": message, "param": None,
                       "sequence_number": i}
                chunk = encode_sse(orjson.dumps(err), "error")
                state.stats.add_out(cid, len(chunk), record)
                record.error_code = code
                yield chunk
                return
            chunk = encode_sse(orjson.dumps(event), event["type"])
            state.stats.add_out(cid, len(chunk), record)
            yield chunk
        record.status = "completed"
        if p.store:
            state.save(p.stored())
    finally:
        if record.status == "in_progress":
            record.status = "cancelled"


async def _json_response(
    state: ServerState, cid: str, record: RequestRecord, p: Prepared,
    events: list[ScheduledEvent],
) -> Response:
    fault: Fault | None = p.fault
    if fault is not None and fault.kind == "stall":
        record.fault = "stall"
        await anyio.sleep(fault.seconds)
    if events:
        delay = events[-1][0]
        if delay > 0:
            await anyio.sleep(delay)
    final = events[-1][1]["response"]
    body = orjson.dumps(final)
    state.stats.add_out(cid, len(body), record)
    if fault is not None and fault.kind == "close":
        record.fault = fault.kind
        record.status = "fault"
        return StreamingResponse(cut_body(body), media_type="application/json",
                                 headers={"content-length": str(len(body))})
    record.status = "completed"
    if p.store:
        state.save(p.stored())
    return Response(body, media_type="application/json")


async def cut_body(body: bytes) -> AsyncIterator[bytes]:
    yield body[: len(body) // 2]
    raise FaultAbort("emulated connection drop")


async def get_response(request: Request) -> Response:
    state = _state(request)
    if not authorized(request.headers, state.config.api_key):
        return JSONResponse(auth_error_body(), status_code=401)
    rid = request.path_params["response_id"]
    stored = state.store.get(rid)
    if stored is None:
        return error_response(ApiFailure(404, "not_found", f"Response with id '{rid}' not found.",
                                         param="response_id"))
    return Response(orjson.dumps(stored.response), media_type="application/json")


async def list_models(request: Request) -> Response:
    state = _state(request)
    names = ["scripted", "echo", *(f"scripted:{n}" for n in sorted(state.scripts))]
    data: list[Mapping[str, Any]] = [
        {"id": n, "object": "model", "created": 0, "owned_by": "responses_fast"} for n in names
    ]
    return JSONResponse({"object": "list", "data": data})


async def tcp_warming(request: Request) -> Response:
    return Response(b"", status_code=200)


def http_routes() -> list[BaseRoute]:
    return [
        Route("/v1/responses", create_response, methods=["POST"]),
        Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/tcp_warming", tcp_warming, methods=["GET"]),
    ]
