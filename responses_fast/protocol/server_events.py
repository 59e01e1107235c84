"""Server -> client stream events of the Responses API (identical on WebSocket and SSE).

``parse_server_event(raw)`` is on the hot path: one module-level TypeAdapter over a union
discriminated on ``type`` validates the bytes directly (below the cost of ``json.loads``,
see benchmarks/bench_parse.py). Unknown types take the rare exception path and become an
:class:`UnknownEvent` that keeps every field; a known type with impossible fields raises
:class:`~responses_fast.errors.RemoteProtocolError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from responses_fast.errors import RemoteProtocolError

from .items import Item

__all__ = [
    "TERMINAL_EVENT_TYPES",
    "ContentPartAdded",
    "ContentPartDone",
    "CustomToolCallInputDelta",
    "CustomToolCallInputDone",
    "ErrorDetail",
    "ErrorEvent",
    "FunctionCallArgumentsDelta",
    "FunctionCallArgumentsDone",
    "OutputItemAdded",
    "OutputItemDone",
    "OutputTextDelta",
    "OutputTextDone",
    "ReasoningSummaryTextDelta",
    "ReasoningTextDelta",
    "ResponseCompleted",
    "ResponseCreated",
    "ResponseFailed",
    "ResponseInProgress",
    "ResponseIncomplete",
    "ResponseObject",
    "ResponseQueued",
    "ServerEvent",
    "UnknownEvent",
    "Usage",
    "parse_server_event",
    "validation_reason",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow")


class InputTokensDetails(_Wire):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(_Wire):
    reasoning_tokens: int = 0


class Usage(_Wire):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: InputTokensDetails | None = None
    output_tokens_details: OutputTokensDetails | None = None


class ErrorDetail(_Wire):
    message: str = ""
    type: str | None = None
    code: str | None = None
    param: str | None = None
    headers: dict[str, Any] | None = None


class ResponseObject(_Wire):
    """The Response object carried by lifecycle events (only what a client needs is typed)."""

    id: str
    object: str = "response"
    status: str | None = None
    model: str | None = None
    output: list[Item] | None = None
    usage: Usage | None = None
    error: ErrorDetail | None = None
    incomplete_details: dict[str, Any] | None = None
    previous_response_id: str | None = None
    created_at: float | None = None


class _Event(_Wire):
    sequence_number: int | None = None


class ResponseCreated(_Event):
    type: Literal["response.created"]
    response: ResponseObject


class ResponseQueued(_Event):
    type: Literal["response.queued"]
    response: ResponseObject


class ResponseInProgress(_Event):
    type: Literal["response.in_progress"]
    response: ResponseObject


class ResponseCompleted(_Event):
    type: Literal["response.completed"]
    response: ResponseObject


class ResponseFailed(_Event):
    type: Literal["response.failed"]
    response: ResponseObject


class ResponseIncomplete(_Event):
    type: Literal["response.incomplete"]
    response: ResponseObject


class OutputItemAdded(_Event):
    type: Literal["response.output_item.added"]
    output_index: int
    item: Item


class OutputItemDone(_Event):
    type: Literal["response.output_item.done"]
    output_index: int
    item: Item


class ContentPartAdded(_Event):
    type: Literal["response.content_part.added"]
    item_id: str | None = None
    output_index: int
    content_index: int = 0
    part: dict[str, Any] | None = None


class ContentPartDone(_Event):
    type: Literal["response.content_part.done"]
    item_id: str | None = None
    output_index: int
    content_index: int = 0
    part: dict[str, Any] | None = None


class OutputTextDelta(_Event):
    type: Literal["response.output_text.delta"]
    item_id: str | None = None
    output_index: int
    content_index: int = 0
    delta: str


class OutputTextDone(_Event):
    type: Literal["response.output_text.done"]
    item_id: str | None = None
    output_index: int
    content_index: int = 0
    text: str


class FunctionCallArgumentsDelta(_Event):
    type: Literal["response.function_call_arguments.delta"]
    item_id: str | None = None
    output_index: int
    delta: str


class FunctionCallArgumentsDone(_Event):
    type: Literal["response.function_call_arguments.done"]
    item_id: str | None = None
    output_index: int
    arguments: str
    #: Required by the published spec; optional here so older servers still parse.
    name: str | None = None


class CustomToolCallInputDelta(_Event):
    type: Literal["response.custom_tool_call_input.delta"]
    item_id: str | None = None
    output_index: int
    delta: str


class CustomToolCallInputDone(_Event):
    type: Literal["response.custom_tool_call_input.done"]
    item_id: str | None = None
    output_index: int
    input: str


class ReasoningSummaryTextDelta(_Event):
    type: Literal["response.reasoning_summary_text.delta"]
    item_id: str | None = None
    output_index: int
    summary_index: int = 0
    delta: str


class ReasoningTextDelta(_Event):
    type: Literal["response.reasoning_text.delta"]
    item_id: str | None = None
    output_index: int
    content_index: int = 0
    delta: str


class ErrorEvent(_Event):
    """``error``: nested on WebSocket (``status`` + ``error{}``), flat on SSE (``code``,
    ``message``)."""

    type: Literal["error"]
    status: int | None = None
    error: ErrorDetail | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None

    @property
    def detail(self) -> ErrorDetail:
        """The error fields whichever shape they came in."""
        if self.error is not None:
            return self.error
        return ErrorDetail(message=self.message or "", code=self.code, param=self.param)


class UnknownEvent(_Wire):
    """An event type this version does not model; every field is kept."""

    type: str
    sequence_number: int | None = None


ServerEvent = Annotated[
    ResponseCreated
    | ResponseQueued
    | ResponseInProgress
    | ResponseCompleted
    | ResponseFailed
    | ResponseIncomplete
    | OutputItemAdded
    | OutputItemDone
    | ContentPartAdded
    | ContentPartDone
    | OutputTextDelta
    | OutputTextDone
    | FunctionCallArgumentsDelta
    | FunctionCallArgumentsDone
    | CustomToolCallInputDelta
    | CustomToolCallInputDone
    | ReasoningSummaryTextDelta
    | ReasoningTextDelta
    | ErrorEvent,
    Field(discriminator="type"),
]

TERMINAL_EVENT_TYPES = frozenset(
    {"response.completed", "response.failed", "response.incomplete", "response.done", "error"}
)

_adapter: TypeAdapter[ServerEvent] = TypeAdapter(ServerEvent)
_validate_json = _adapter.validate_json
_KNOWN_TYPES: frozenset[str] = frozenset(
    t
    for member in ServerEvent.__origin__.__args__  # type: ignore[attr-defined]
    for t in member.model_fields["type"].annotation.__args__
)
_KNOWN_TAGS = frozenset(t.encode() for t in _KNOWN_TYPES)
_PREFIX = b'{"type":"'


def parse_server_event(raw: bytes | str) -> ServerEvent | UnknownEvent:
    """Parse one event (a WebSocket text message or an SSE ``data`` payload).

    Raises RemoteProtocolError (one-line reason, ``.raw`` = the first 200 bytes) for what is not a
    JSON object with a string ``type`` or for a known event whose fields have impossible types.
    Never raises anything else.
    """
    # Fast path for unknown types: OpenAI writes ``type`` first, so a peek at the tag skips a
    # validation that would fail (an exception in pydantic-core costs more than the parse).
    if raw.__class__ is bytes and raw.startswith(_PREFIX):
        end = raw.find(b'"', 9)
        if end > 0:
            tag = raw[9:end]
            if tag not in _KNOWN_TAGS and b"\\" not in tag:
                return _unknown(raw)
    try:
        return _validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if errors and errors[0]["type"] in ("union_tag_invalid", "union_tag_not_found"):
            return _unknown(raw)
        raise RemoteProtocolError(validation_reason("server event", errors), raw=raw) from None


def validation_reason(what: str, errors: Sequence[Mapping[str, Any]]) -> str:
    """A one-line reason for a pydantic validation failure of a discriminated wire union.

    ``what`` names the thing ("server event"); the first location element is the event type (the
    union tag), the rest is the field path.
    """
    if not errors:
        return f"malformed {what}"
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        return f"{what} is not valid JSON ({first['msg'].removeprefix('Invalid JSON: ')})"
    if kind == "string_unicode":
        return f"{what} is not valid UTF-8"
    loc = tuple(first["loc"])
    if not loc:
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return f"{what} must be a JSON object"
        return f"malformed {what}: {first['msg']}"
    tag, path = loc[0], ".".join(str(p) for p in loc[1:])
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    where = f" field '{path}'" if path else ""
    return f"malformed {what} {tag!r}:{where} {first['msg']}{more}"


def _unknown(raw: bytes | str) -> ServerEvent | UnknownEvent:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RemoteProtocolError("server event is not valid JSON", raw=raw) from None
    if not isinstance(data, dict):
        raise RemoteProtocolError("server event must be a JSON object", raw=raw)
    if not isinstance(data.get("type"), str):
        raise RemoteProtocolError("server event has no string 'type'", raw=raw)
    if data["type"] in _KNOWN_TYPES:  # e.g. a duplicate "type" key: the last one wins
        try:
            return _adapter.validate_python(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise RemoteProtocolError(validation_reason("server event", errors), raw=raw) from None
    try:
        return UnknownEvent.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        loc = ".".join(str(p) for p in errors[0]["loc"]) if errors else "?"
        msg = errors[0]["msg"] if errors else "invalid"
        raise RemoteProtocolError(
            f"malformed server event {data['type']!r}: field '{loc}' {msg}", raw=raw
        ) from None
