"""The logic of one turn as a sans-I/O state machine: server events in, actions out.

:class:`TurnMachine` is fed one server event at a time (with the time it arrived, read by the
caller) and answers with at most one action for the driver (``session.turn``) to carry out: emit
a text delta, log an item, log a tool call and start it, finish, or fail. It does no I/O, reads no
clock, runs no tool and knows nothing of the session, so every rule of a turn is tested by
feeding it event sequences (tests/session/test_turn_machine.py), as python-websockets tests its
protocol.

The rules it holds:

- a tool call (function or custom) is ready at its ``response.output_item.done``; the driver
  starts it at once while the stream goes on;
- a call whose id was seen before (replayed by a server after a reconnect) is skipped: it ran;
- a call the model did not finish (item status ``incomplete``: its arguments were cut by
  ``max_output_tokens``) is neither run nor logged;
- ``response.completed`` makes the response the new head of the chain; ``response.incomplete``
  ends the turn with status ``"incomplete"`` and no new head; ``response.failed`` fails it;
- after the stream, outputs are logged in call order (:meth:`outputs`), and a failed attempt
  that started no call is discarded (:attr:`keep_partial`) since the retry regenerates it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import ServerError
from ..protocol.items import CustomToolCall, CustomToolCallOutput, FunctionCall, FunctionCallOutput
from ..protocol.server_events import (
    OutputItemDone,
    OutputTextDelta,
    ResponseCompleted,
    ResponseCreated,
    ResponseFailed,
    ResponseIncomplete,
    ServerEvent,
    UnknownEvent,
)
from .events import TextDelta
from .metrics import TurnClock

__all__ = [
    "Action",
    "CallReady",
    "Failed",
    "Finished",
    "ItemReady",
    "ToolCall",
    "ToolCallOutput",
    "TurnMachine",
    "TurnOutcome",
    "output_item",
]

#: An item that asks the client to run a tool.
ToolCall = FunctionCall | CustomToolCall
ToolCallOutput = FunctionCallOutput | CustomToolCallOutput


@dataclass(slots=True)
class TurnOutcome:
    response_id: str | None = None
    status: str = "in_progress"
    calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    events: int = 0
    #: Why the response is incomplete (``incomplete_details.reason``), e.g. "max_output_tokens".
    incomplete_reason: str | None = None
    #: Calls the model did not finish (arguments cut): not run, not logged.
    cut_calls: list[ToolCall] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class ItemReady:
    """Log this model item (a message, reasoning, ...) and announce it."""

    item: object


@dataclass(slots=True, frozen=True)
class CallReady:
    """Log this call, announce it, check it and start it now (the stream goes on)."""

    call: ToolCall


@dataclass(slots=True, frozen=True)
class Finished:
    """The response ended; ``head`` is the id that now heads the server's chain (or None)."""

    head: str | None


@dataclass(slots=True, frozen=True)
class Failed:
    """The response failed: raise ``error`` (the retry loop decides)."""

    error: ServerError


#: What :meth:`TurnMachine.receive` answers; a :class:`TextDelta` is emitted as is.
Action = TextDelta | ItemReady | CallReady | Finished | Failed


def output_item(call: ToolCall, text: str) -> ToolCallOutput:
    """The output item that answers ``call`` (custom calls get a custom output)."""
    if isinstance(call, CustomToolCall):
        return CustomToolCallOutput(call_id=call.call_id, output=text)
    return FunctionCallOutput(call_id=call.call_id, output=text)


class TurnMachine:
    """One response's events -> the turn's actions. Single use.

    Args:
        turn: the turn number, carried by the events it builds.
        clock: receives the arrival times passed to :meth:`receive`.
        ran_before: whether a call id already ran (the log's exactly-once bookkeeping).
        stream_text: build :class:`TextDelta` actions (only when someone listens: ``stream()``).
    """

    __slots__ = ("_clock", "_ran_before", "_stream_text", "_turn", "outcome")

    def __init__(
        self,
        turn: int,
        clock: TurnClock,
        ran_before: Callable[[str], bool],
        *,
        stream_text: bool = False,
    ) -> None:
        self._turn = turn
        self._clock = clock
        self._ran_before = ran_before
        self._stream_text = stream_text
        self.outcome = TurnOutcome()

    def receive(self, event: ServerEvent | UnknownEvent, now: float) -> Action | None:
        """Take one event that arrived at ``now`` (seconds, the clock of ``TurnClock``)."""
        clock = self._clock
        if clock.first_event is None:
            clock.first_event = now
        clock.last_event = now
        outcome = self.outcome
        outcome.events += 1
        cls = event.__class__
        if cls is OutputTextDelta:
            if self._stream_text:
                return TextDelta(self._turn, event.delta)  # type: ignore[union-attr]
            return None
        if cls is OutputItemDone:
            item = event.item  # type: ignore[union-attr]
            if isinstance(item, FunctionCall | CustomToolCall):
                if self._ran_before(item.call_id):
                    return None  # replayed by the server after a reconnect: it ran already
                if item.status == "incomplete":
                    outcome.cut_calls.append(item)  # arguments cut off: never run a half call
                    return None
                outcome.calls.append(item)
                return CallReady(item)
            return ItemReady(item)
        if cls is ResponseCreated:
            outcome.response_id = event.response.id  # type: ignore[union-attr]
            return None
        if cls is ResponseCompleted or cls is ResponseIncomplete:
            resp = event.response  # type: ignore[union-attr]
            outcome.response_id = resp.id
            completed = cls is ResponseCompleted
            outcome.status = resp.status or ("completed" if completed else "incomplete")
            if not completed:
                details = resp.incomplete_details or {}
                reason = details.get("reason")
                outcome.incomplete_reason = reason if isinstance(reason, str) else "unknown"
            if resp.usage is not None:
                u = resp.usage
                outcome.input_tokens = u.input_tokens
                outcome.output_tokens = u.output_tokens
                d = u.input_tokens_details
                outcome.cached_tokens = d.cached_tokens if d else 0
            return Finished(resp.id if completed else None)
        if cls is ResponseFailed:
            err = event.response.error  # type: ignore[union-attr]
            return Failed(
                ServerError(
                    err.message if err and err.message else "response failed",
                    code=err.code if err else None,
                )
            )
        return None

    @property
    def keep_partial(self) -> bool:
        """After a failed stream: keep what was logged only if a call started (it had effects);
        otherwise the retry regenerates the response and the partial one is discarded."""
        return bool(self.outcome.calls)

    def outputs(
        self, results: Mapping[str, str], has_output: Callable[[str], bool]
    ) -> list[ToolCallOutput]:
        """The output items to log once every tool has finished, in call order.

        ``results`` maps call ids to output text; a call with no result (cancelled) or whose
        output is already logged gets nothing here.
        """
        out: list[ToolCallOutput] = []
        for call in self.outcome.calls:
            text = results.get(call.call_id)
            if text is None or has_output(call.call_id):
                continue
            out.append(output_item(call, text))
        return out
