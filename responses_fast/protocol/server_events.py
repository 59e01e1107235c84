"""Server -> client stream events of the Responses API (identical on WebSocket and SSE).

``parse_server_event(raw)`` is on the hot path: one module-level TypeAdapter over a union
discriminated on ``type`` validates the bytes directly (about 0.6x the cost of ``json.loads``,
see benchmarks/bench_parse.py). Unknown types take the rare exception path and become an
:class:`UnknownEvent` that keeps every field; a known type with impossible fields raises
:class:`~responses_fast.errors.RemoteProtocolError`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..errors import RemoteProtocolError
from .items import Item

__all__ = [
    "TERMINAL_EVENT_TYPES",
    "ContentPartAdded",
    "ContentPartDone",
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
    """``error``: nested on WebSocket (``status`` + ``error{}``), flat on SSE (``code``, ``message``)."""

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


def parse_server_event(raw: bytes | str) -> ServerEvent | UnknownEvent:
    """Parse one event (a WebSocket text message or an SSE ``data`` payload).

    Raises RemoteProtocolError for what is not a JSON object with a string ``type`` or for a known
    event whose fields have impossible types.
    """
    try:
        return _validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        if errors and errors[0]["type"] in ("union_tag_invalid", "union_tag_not_found"):
            return _unknown(raw)
        raise RemoteProtocolError(
            f"malformed server event: {errors[0]['type'] if errors else 'invalid'}"
            f" at {'.'.join(str(p) for p in errors[0]['loc']) if errors else '?'}",
            raw=raw,
        ) from None


def _unknown(raw: bytes | str) -> UnknownEvent:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RemoteProtocolError("server event is not valid JSON", raw=raw) from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise RemoteProtocolError("server event has no string 'type'", raw=raw)
    try:
        return UnknownEvent.model_validate(data)
    except ValidationError:
        raise RemoteProtocolError("malformed server event", raw=raw) from None
