"""Events a run yields through ``AgentSession.stream()``: facts, in the order they happen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic

from pydantic import BaseModel
from typing_extensions import TypeVar

from .metrics import TurnMetrics

__all__ = [
    "ContextTrimmed",
    "Event",
    "ItemAdded",
    "Reconnected",
    "RunFinished",
    "RunResult",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallFlagged",
    "ToolCallStarted",
    "TurnFinished",
    "TurnStarted",
    "Usage",
]


@dataclass(slots=True)
class Usage:
    """Token usage summed over the responses of a run (as the server reported it)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0

    def add(self, input_tokens: int, output_tokens: int, cached_tokens: int) -> None:
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cached_tokens += cached_tokens
        self.total_tokens += input_tokens + output_tokens


@dataclass(slots=True, frozen=True)
class TurnStarted:
    turn: int
    #: Items sent in this request (only the new ones on a continued chain).
    attempt: int = 1


@dataclass(slots=True, frozen=True)
class TextDelta:
    """A piece of assistant text as it streams."""

    turn: int
    text: str


@dataclass(slots=True, frozen=True)
class ItemAdded:
    """A complete item joined the conversation log (model output or tool output)."""

    turn: int
    item: BaseModel


@dataclass(slots=True, frozen=True)
class ToolCallFlagged:
    """The safety policy did not simply allow a call: ``action`` is "ask" or "deny"."""

    turn: int
    call_id: str
    name: str
    action: str
    reason: str
    rule: str
    approved: bool | None = None


@dataclass(slots=True, frozen=True)
class ToolCallStarted:
    turn: int
    call_id: str
    name: str
    arguments: str
    #: Seconds since the turn's request went out; a call can start before the response ends.
    at: float = 0.0


@dataclass(slots=True, frozen=True)
class ToolCallFinished:
    turn: int
    call_id: str
    name: str
    output: str
    is_error: bool
    duration: float
    denied: bool = False


@dataclass(slots=True, frozen=True)
class Reconnected:
    """The turn failed and is being retried (possibly on a new connection, with full context)."""

    turn: int
    attempt: int
    reason: str
    delay: float


@dataclass(slots=True, frozen=True)
class ContextTrimmed:
    """The context budget policy shortened or dropped items before a request."""

    turn: int
    report: Any


@dataclass(slots=True, frozen=True)
class TurnFinished:
    turn: int
    metrics: TurnMetrics


#: The type of ``RunResult.output``: what ``output_type`` validated (Any for untyped runs).
OutputT = TypeVar("OutputT", default=Any)


@dataclass(slots=True)
class RunResult(Generic[OutputT]):
    """What ``run()`` returns: the final text, the items of this run, usage and per-turn metrics."""

    final_text: str
    items: list[BaseModel]
    usage: Usage
    turns: list[TurnMetrics]
    response_id: str | None
    status: str = "completed"
    tool_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: The validated answer when the run asked for an ``output_type`` (None otherwise).
    output: OutputT = None  # type: ignore[assignment]  # None unless output_type was given

    @property
    def overhead(self) -> float:
        """Seconds in which neither the model nor a tool was working, summed over turns."""
        return sum(t.overhead for t in self.turns)

    @property
    def wall(self) -> float:
        return sum(t.wall for t in self.turns)


@dataclass(slots=True, frozen=True)
class RunFinished:
    result: RunResult


Event = (
    TurnStarted
    | TextDelta
    | ItemAdded
    | ToolCallFlagged
    | ToolCallStarted
    | ToolCallFinished
    | Reconnected
    | ContextTrimmed
    | TurnFinished
    | RunFinished
)
