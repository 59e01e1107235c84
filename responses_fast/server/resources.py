"""The rest of the Responses HTTP surface, shaped as the published OpenAPI spec shapes it.

``POST /v1/responses/compact`` (a ``response.compaction`` object: the conversation's user
messages plus one ``compaction`` item), ``DELETE /v1/responses/{id}``,
``POST /v1/responses/{id}/cancel``, ``GET /v1/responses/{id}/input_items`` (a cursor list),
``POST /v1/responses/input_tokens``, and JSON ``{"error": {...}}`` bodies for unknown routes and
wrong methods (never plain text).

The compaction item's ``encrypted_content`` records how many model turns it replaces, so a
scripted model keeps its place after a client swaps its history for the compacted window.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from responses_fast.protocol.client_events import ResponseCreate

from .conversation import compaction_content, context_from_items, count_model_turns
from .engine import ApiFailure, ServerState, input_token_keys, load_context
from .http import error_response, read_json_body
from .scripted import estimate_tokens, usage_object
from .stats import RequestRecord
from .websocket import auth_error_body, authorized

__all__ = ["http_exception_handler", "resource_routes"]


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """404 and 405 as the API words them: a JSON error body, never plain text."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    elif status == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}."
    else:
        message = exc.detail if isinstance(exc, HTTPException) else "Internal server error."
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "param": None,
                   "code": None}},
        status_code=status, headers=headers)


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.responses_fast
    return state


def _parse_create(data: dict[str, Any]) -> ResponseCreate:
    data.pop("type", None)
    try:
        return ResponseCreate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ApiFailure(400, "invalid_request_error", f"Invalid '{loc}': {first['msg']}",
                         param=loc or None) from None


def _check_model(state: ServerState, model: str | None) -> str:
    if not model:
        raise ApiFailure(400, "missing_required_parameter", "Missing required parameter: 'model'.",
                         param="model")
    if state.resolve_script(model) is None and not state.echoes(model):
        raise ApiFailure(404, "model_not_found",
                         f"The model '{model}' does not exist or you do not have access to it.",
                         param="model")
    return model


def _authorized_or_401(request: Request, state: ServerState) -> Response | None:
    if authorized(request.headers, state.config.api_key):
        return None
    return JSONResponse(auth_error_body(), status_code=401)


def _not_found(rid: str) -> ApiFailure:
    return ApiFailure(404, "not_found", f"Response with id '{rid}' not found.",
                      param="response_id")


def _user_message(item: dict[str, Any]) -> dict[str, Any]:
    """A kept user message in the item form (string content becomes one input_text part)."""
    content = item.get("content")
    if isinstance(content, str):
        content = [{"type": "input_text", "text": content}]
    return {"id": "msg_" + secrets.token_hex(12), "status": "completed", **item,
            "type": "message", "role": "user", "content": content}


async def compact(request: Request) -> Response:
    state = _state(request)
    record: RequestRecord | None = None
    try:
        cid, size, data = await read_json_body(request, state)
        create = _parse_create(data)
        n_items = 1 if isinstance(create.input, str) else len(create.input or [])
        record = state.stats.add_request(RequestRecord(
            connection_id=cid, endpoint="compact", model=create.model, input_items=n_items,
            previous_response_id=create.previous_response_id, bytes_in=size, stream=False))
        _check_model(state, create.model)
        _parent, _own, context_dicts = load_context(create, state.store.get)
    except ApiFailure as exc:
        response = error_response(exc)
        if record is not None:
            record.status, record.error_code = "error", exc.code
        return response
    context = context_from_items(context_dicts)
    turns = count_model_turns(context)
    kept = [_user_message(it) for it in context_dicts
            if (it.get("type") in (None, "message")) and it.get("role") == "user"]
    item = {"type": "compaction", "id": "cmp_" + secrets.token_hex(12),
            "encrypted_content": compaction_content(turns)}
    keys = input_token_keys(create, context)
    cached = state.prefix_cache.lookup_and_add(keys)
    usage = usage_object(sum(estimate_tokens(k) for k in keys), cached,
                         estimate_tokens(item["encrypted_content"]), 0)
    body = orjson.dumps({"id": "resp_" + secrets.token_hex(12), "object": "response.compaction",
                         "output": [*kept, item], "created_at": int(time.time()),
                         "usage": usage})
    record.turn_index = turns
    record.context_items = len(context_dicts)
    record.status = "completed"
    state.stats.add_out(cid, len(body), record)
    return Response(body, media_type="application/json")


async def delete_response(request: Request) -> Response:
    state = _state(request)
    if (denied := _authorized_or_401(request, state)) is not None:
        return denied
    rid = request.path_params["response_id"]
    if state.store.pop(rid, None) is None:
        return error_response(_not_found(rid))
    return JSONResponse({"id": rid, "object": "response", "deleted": True})


async def cancel_response(request: Request) -> Response:
    """Only background responses can be cancelled, and this server runs none (documented)."""
    state = _state(request)
    if (denied := _authorized_or_401(request, state)) is not None:
        return denied
    rid = request.path_params["response_id"]
    if rid not in state.store:
        return error_response(_not_found(rid))
    return error_response(ApiFailure(
        400, "invalid_request_error",
        "Only responses created with background=true can be cancelled.", param="response_id"))


async def input_items(request: Request) -> Response:
    state = _state(request)
    if (denied := _authorized_or_401(request, state)) is not None:
        return denied
    rid = request.path_params["response_id"]
    stored = state.store.get(rid)
    if stored is None:
        return error_response(_not_found(rid))
    q = request.query_params
    try:
        limit = int(q.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        return error_response(ApiFailure(400, "invalid_request_error",
                                         "'limit' must be an integer from 1 to 100.",
                                         param="limit"))
    order = q.get("order", "desc")
    if order not in ("asc", "desc"):
        return error_response(ApiFailure(400, "invalid_request_error",
                                         "'order' must be 'asc' or 'desc'.", param="order"))
    context = stored.full_context()[: -len(stored.output) or None]  # what the model was given
    items = [_resource(it, f"item_{rid[5:]}_{i}") for i, it in enumerate(context)]
    if order == "desc":
        items.reverse()
    after = q.get("after")
    if after is not None:
        ids = [it["id"] for it in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:limit]
    return JSONResponse({
        "object": "list", "data": page, "has_more": len(items) > limit,
        "first_id": page[0]["id"] if page else "", "last_id": page[-1]["id"] if page else ""})


def _resource(item: dict[str, Any], default_id: str) -> dict[str, Any]:
    """An input item as the API lists it: with an id; a message with typed content parts."""
    out = {"id": default_id, **item}
    if item.get("type") in (None, "message") and "role" in item:
        out["type"] = "message"
        if isinstance(item.get("content"), str):
            part = "output_text" if item["role"] == "assistant" else "input_text"
            out["content"] = [{"type": part, "text": item["content"]}]
        out.setdefault("status", "completed")
    return out


async def input_tokens(request: Request) -> Response:
    state = _state(request)
    try:
        _cid, _size, data = await read_json_body(request, state)
        create = _parse_create(data)
        _parent, _own, context_dicts = load_context(create, state.store.get)
    except ApiFailure as exc:
        return error_response(exc)
    keys = input_token_keys(create, context_from_items(context_dicts))
    return JSONResponse({"object": "response.input_tokens",
                         "input_tokens": sum(estimate_tokens(k) for k in keys)})


def resource_routes() -> list[BaseRoute]:
    """Listed before ``/v1/responses/{response_id}`` so the fixed paths win."""
    return [
        Route("/v1/responses/compact", compact, methods=["POST"]),
        Route("/v1/responses/input_tokens", input_tokens, methods=["POST"]),
        Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
        Route("/v1/responses/{response_id}/cancel", cancel_response, methods=["POST"]),
        Route("/v1/responses/{response_id}/input_items", input_items, methods=["GET"]),
    ]
