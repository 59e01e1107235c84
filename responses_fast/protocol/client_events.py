"""Client -> server frames of the Responses WebSocket mode, and request-body assembly.

Bodies are assembled from pre-serialized pieces (``assemble_body``): the fixed settings are
rendered to bytes once per session and every item's bytes once per item, so building a request
costs a join, not a walk over the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from responses_fast.errors import RemoteProtocolError

from .items import Item
from .server_events import validation_reason

__all__ = [
    "ClientEvent",
    "ResponseAppend",
    "ResponseCreate",
    "ResponseInject",
    "ResponseSteer",
    "UnknownClientEvent",
    "assemble_body",
    "parse_client_event",
    "render_fields",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class ResponseCreate(_Wire):
    """``response.create``: the body of ``POST /v1/responses`` plus WebSocket-only fields."""

    type: Literal["response.create"] = "response.create"
    model: str | None = None
    input: str | list[Item] | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    background: bool | None = None
    generate: bool | None = None
    stream_id: str | None = None
    prompt_cache_key: str | None = None
    max_output_tokens: int | None = None
    metadata: dict[str, Any] | None = None


class ResponseSteer(_Wire):
    type: Literal["response.steer"]
    previous_response_id: str | None = None
    input: Any = None


class ResponseInject(_Wire):
    type: Literal["response.inject"]
    response_id: str | None = None
    input: Any = None


class ResponseAppend(_Wire):
    """Codex's v1 continuation frame (beta header 2026-02-04)."""

    type: Literal["response.append"]
    input: Any = None


class UnknownClientEvent(_Wire):
    type: str


ClientEvent = Annotated[
    ResponseCreate | ResponseSteer | ResponseInject | ResponseAppend,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[ClientEvent] = TypeAdapter(ClientEvent)


def parse_client_event(raw: bytes | str) -> ClientEvent | UnknownClientEvent:
    """Parse one client frame.

    An unknown ``type`` gives :class:`UnknownClientEvent` (every field kept). Anything else that
    cannot be parsed raises RemoteProtocolError with a one-line reason and the raw prefix; no other
    exception escapes.
    """
    try:
        return _adapter.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if errors and errors[0]["type"] == "union_tag_invalid":
            return _unknown(raw)
        if errors and errors[0]["type"] == "union_tag_not_found":
            raise RemoteProtocolError("client event has no 'type'", raw=raw) from None
        raise RemoteProtocolError(validation_reason("client event", errors), raw=raw) from None


def _unknown(raw: bytes | str) -> UnknownClientEvent:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:  # pragma: no cover - validate_json already accepted the JSON
        raise RemoteProtocolError("client event is not valid JSON", raw=raw) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise RemoteProtocolError("client event has no string 'type'", raw=raw)
    return UnknownClientEvent.model_validate(data)


def render_fields(fields: Mapping[str, Any]) -> bytes:
    """Render top-level fields as ``"k":v,"k2":v2`` (no braces), skipping None values."""
    body = orjson.dumps({k: v for k, v in fields.items() if v is not None})
    return body[1:-1]


def assemble_body(
    *pieces: bytes,
    input_items: Iterable[bytes] | None = None,
    input_key: bytes = b"input",
) -> bytes:
    """Join pre-rendered field pieces and item bytes into one JSON object.

    ``pieces`` are outputs of :func:`render_fields` (empty pieces are skipped); ``input_items`` are
    per-item bytes, joined into a JSON array under ``input_key``.
    """
    # One list, one join: the history (up to megabytes) is copied exactly once.
    parts: list[bytes] = [b"{"]
    for piece in pieces:
        if piece:
            if len(parts) > 1:
                parts.append(b",")
            parts.append(piece)
    if input_items is not None:
        if len(parts) > 1:
            parts.append(b",")
        parts.append(b'"' + input_key + b'":[')
        first = True
        for item in input_items:
            if not first:
                parts.append(b",")
            parts.append(item)
            first = False
        parts.append(b"]")
    parts.append(b"}")
    return b"".join(parts)
