"""Per-turn timing: where the wall time of a turn went (model, tools, or neither: overhead)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TurnClock", "TurnMetrics"]


@dataclass(slots=True, frozen=True)
class TurnMetrics:
    """Timings of one turn in seconds, and what travelled on the wire.

    ``wall`` runs from the moment the turn's request is built to the moment the next request can go
    out (the last tool output of the turn is ready). ``overhead`` is the part of ``wall`` in which
    neither the model was working (from request sent to last event) nor a tool was running: request
    building, retries, the gap between the stream's end and a tool's start, ...
    """

    turn: int
    response_id: str | None
    wall: float
    time_to_first_event: float
    generating: float
    tools: float
    overhead: float
    tool_calls: int
    bytes_sent: int
    bytes_received: int
    items_sent: int
    events: int
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    attempts: int = 1


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total = 0.0
    end = float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


@dataclass(slots=True)
class TurnClock:
    """Collects timestamps (``time.perf_counter``) during a turn and turns them into metrics."""

    start: float
    sent: float = 0.0
    first_event: float | None = None
    last_event: float | None = None
    tool_spans: list[tuple[float, float]] = field(default_factory=list)

    def metrics(
        self,
        *,
        turn: int,
        end: float,
        response_id: str | None,
        bytes_sent: int,
        bytes_received: int,
        items_sent: int,
        events: int,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_tokens: int = 0,
        attempts: int = 1,
    ) -> TurnMetrics:
        sent = self.sent or self.start
        first = self.first_event if self.first_event is not None else end
        last = self.last_event if self.last_event is not None else first
        # The model is "working" from the moment the request leaves (network + TTFT + stream).
        gen = (sent, last)
        busy = _union_length([gen, *self.tool_spans])
        wall = end - self.start
        return TurnMetrics(
            turn=turn,
            response_id=response_id,
            wall=wall,
            time_to_first_event=first - sent,
            generating=last - first,
            tools=_union_length(self.tool_spans),
            overhead=max(0.0, wall - busy),
            tool_calls=len(self.tool_spans),
            bytes_sent=bytes_sent,
            bytes_received=bytes_received,
            items_sent=items_sent,
            events=events,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            attempts=attempts,
        )
