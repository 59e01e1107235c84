"""One turn of the agent loop: stream a response and run its tool calls as they complete.

A function call starts the moment its ``response.output_item.done`` arrives, while the stream goes
on; parallel calls run together in the turn's task group. Tool outputs are buffered and appended
to the log in call order once the stream has ended (one response is in flight at a time, so they
could not travel earlier), and the turn ends the instant the last output is ready.

If the stream fails, tools that already started are allowed to finish and their outputs are
logged (with the calls and whatever the partial response said before them) before the error
propagates to the retry loop: a replay resends context, never a tool. A partial response that
made no calls is discarded instead, since the retry regenerates it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import orjson

from ..errors import ServerError
from ..protocol.items import FunctionCall, FunctionCallOutput
from ..protocol.server_events import (
    OutputItemDone,
    OutputTextDelta,
    ResponseCompleted,
    ResponseCreated,
    ResponseFailed,
    ResponseIncomplete,
)
from ..tools.spec import ToolResult
from ..transports.base import TurnRequest
from .events import (
    Event,
    ItemAdded,
    TextDelta,
    ToolCallFinished,
    ToolCallFlagged,
    ToolCallStarted,
)
from .metrics import TurnClock

if TYPE_CHECKING:
    from .session import AgentSession

__all__ = ["Emit", "TurnOutcome", "no_emit", "run_turn"]

Emit = Callable[[Event], Awaitable[None]]


async def no_emit(event: Event) -> None:
    """The emitter of ``run()``: nobody listens."""


@dataclass(slots=True)
class TurnOutcome:
    response_id: str | None = None
    status: str = "in_progress"
    calls: list[FunctionCall] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    events: int = 0


async def run_turn(
    session: AgentSession,
    request: TurnRequest,
    *,
    turn: int,
    clock: TurnClock,
    emit: Emit,
) -> TurnOutcome:
    log = session.log
    transport = session.transport
    outcome = TurnOutcome()
    results: dict[str, ToolResult] = {}
    stream_error: Exception | None = None
    start_len = len(log)
    # A delta event per token: skip building it when nobody listens (run() rather than stream()).
    stream_text = emit is not no_emit

    async with anyio.create_task_group() as tools:
        try:
            clock.sent = time.perf_counter()
            async with transport.open_turn(request) as events:
                if session.budget is not None and log.uncounted():
                    # Count the newest items in a worker thread while the model streams.
                    tools.start_soon(anyio.to_thread.run_sync, session.count_pending)
                async for event in events:
                    now = time.perf_counter()
                    if clock.first_event is None:
                        clock.first_event = now
                    clock.last_event = now
                    outcome.events += 1
                    if isinstance(event, OutputTextDelta):
                        if stream_text:
                            await emit(TextDelta(turn, event.delta))
                    elif isinstance(event, OutputItemDone):
                        item = event.item
                        if isinstance(item, FunctionCall):
                            if log.has_call(item.call_id):
                                continue  # replayed by the server after a reconnect: ran already
                            log.append(item)
                            outcome.calls.append(item)
                            await emit(ItemAdded(turn, item))
                            decision_gate = session.check_call(item)
                            tools.start_soon(
                                _run_call, session, item, decision_gate, turn, clock, results, emit
                            )
                        else:
                            log.append(item)
                            await emit(ItemAdded(turn, item))
                    elif isinstance(event, ResponseCreated):
                        outcome.response_id = event.response.id
                    elif isinstance(event, ResponseCompleted | ResponseIncomplete):
                        resp = event.response
                        outcome.response_id = resp.id
                        outcome.status = resp.status or (
                            "completed" if isinstance(event, ResponseCompleted) else "incomplete"
                        )
                        if resp.usage is not None:
                            u = resp.usage
                            outcome.input_tokens = u.input_tokens
                            outcome.output_tokens = u.output_tokens
                            details = u.input_tokens_details
                            outcome.cached_tokens = details.cached_tokens if details else 0
                        if isinstance(event, ResponseCompleted):
                            log.set_head(resp.id)
                    elif isinstance(event, ResponseFailed):
                        err = event.response.error
                        raise ServerError(
                            err.message if err and err.message else "response failed",
                            code=err.code if err else None,
                        )
        except Exception as exc:
            # Not BaseException: cancellation must still cancel the tools. Any other failure
            # lets started tools finish so their side effects are recorded, then propagates.
            stream_error = exc
    # All tools of this turn have finished: log their outputs in call order.
    for call in outcome.calls:
        result = results.get(call.call_id)
        if result is None or log.has_output(call.call_id):
            continue
        out = FunctionCallOutput(call_id=call.call_id, output=result.output)
        log.append(out)
        await emit(ItemAdded(turn, out))
    if stream_error is not None:
        if not outcome.calls:
            # Nothing ran for this partial response (text, reasoning): the retry regenerates
            # it, so keeping it would make the model see and repeat half an answer.
            log.discard_from(start_len)
        raise stream_error
    return outcome


async def _run_call(
    session: AgentSession,
    call: FunctionCall,
    gate: Any,
    turn: int,
    clock: TurnClock,
    results: dict[str, ToolResult],
    emit: Emit,
) -> None:
    start = time.perf_counter()
    denied = False
    decision = gate
    if decision is not None and decision.action != "allow":
        approved: bool | None = None
        if decision.action == "ask":
            approved = await session.ask_approval(call, decision)
        await emit(
            ToolCallFlagged(
                turn,
                call.call_id,
                call.name,
                decision.action,
                decision.reason,
                decision.rule,
                approved,
            )
        )
        if not approved:
            denied = True
            verdict = "denied" if decision.action == "deny" else "not approved"
            result = ToolResult(
                f"{verdict} by the safety policy ({decision.rule}): {decision.reason}. "
                "The call was not executed; try a different approach.",
                is_error=True,
            )
    if not denied:
        await emit(
            ToolCallStarted(turn, call.call_id, call.name, call.arguments, start - clock.sent)
        )
        result = await session.execute(call)
    end = time.perf_counter()
    clock.tool_spans.append((start, end))
    results[call.call_id] = result
    await emit(
        ToolCallFinished(
            turn, call.call_id, call.name, result.output, result.is_error, end - start, denied
        )
    )


def parse_arguments(call: FunctionCall) -> dict[str, Any]:
    """The call's arguments as a dict for the policy (``{}`` when they are not a JSON object)."""
    try:
        data = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
