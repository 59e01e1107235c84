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

from ..errors import RemoteProtocolError
from .items import Item

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
    """Parse one client frame. RemoteProtocolError carries a one-line reason and the raw prefix."""
    try:
        return _adapter.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        first = errors[0] if errors else None
        if first and first["type"] in ("union_tag_invalid",):
            data = orjson.loads(raw)
            return UnknownClientEvent.model_validate(data)
        if first and first["type"] == "json_invalid":
            raise RemoteProtocolError("invalid JSON", raw=raw) from None
        if first and first["type"] in ("union_tag_not_found", "model_attributes_type"):
            raise RemoteProtocolError("event must be a JSON object with a 'type'", raw=raw) from None
        loc = ".".join(str(p) for p in first["loc"][1:]) if first else ""
        msg = first["msg"] if first else "invalid event"
        raise RemoteProtocolError(f"invalid '{loc}': {msg}" if loc else msg, raw=raw) from None


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
    parts = [p for p in pieces if p]
    if input_items is not None:
        parts.append(b'"' + input_key + b'":[' + b",".join(input_items) + b"]")
    return b"{" + b",".join(parts) + b"}"
