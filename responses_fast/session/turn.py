"""One turn of the agent loop: drive :class:`~.turn_machine.TurnMachine` over a transport.

The turn's rules live in the sans-I/O machine; this module does its I/O: it opens the
transport's stream, feeds each event to the machine with its arrival time and carries out the
actions. A call starts the moment its ``response.output_item.done`` arrives, while the stream goes
on; parallel calls run together in the turn's task group. Tool outputs are buffered and appended
to the log in call order once the stream has ended (one response is in flight at a time, so they
could not travel earlier), and the turn ends the instant the last output is ready.

If the stream fails, tools that already started are allowed to finish and their outputs are
logged (with the calls and whatever the partial response said before them) before the error
propagates to the retry loop: a replay resends context, never a tool. A partial response that
made no calls is discarded instead, since the retry regenerates it.

Collaborators come in explicitly (the log, the transport, a :class:`CallRunner` that checks,
approves and executes calls): the turn knows nothing of ``AgentSession``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import anyio
import anyio.to_thread
import orjson

from ..protocol.items import CustomToolCall
from ..tools.spec import ToolResult
from ..transports.base import Transport, TurnRequest
from .events import (
    Event,
    ItemAdded,
    TextDelta,
    ToolCallFinished,
    ToolCallFlagged,
    ToolCallStarted,
)
from .log import ItemLog
from .metrics import TurnClock
from .turn_machine import CallReady, Failed, Finished, ItemReady, ToolCall, TurnMachine, TurnOutcome

__all__ = [
    "CallRunner",
    "DecisionLike",
    "Emit",
    "TurnOutcome",
    "call_input",
    "no_emit",
    "parse_arguments",
    "run_turn",
]

Emit = Callable[[Event], Awaitable[None]]


async def no_emit(event: Event) -> None:
    """The emitter of ``run()``: nobody listens."""


class DecisionLike(Protocol):
    """What a policy returns: ``action`` is "allow", "ask" or "deny"."""

    @property
    def action(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def rule(self) -> str: ...


class CallRunner(Protocol):
    """What a turn needs to run tool calls (``AgentSession`` is one)."""

    def check_call(self, call: ToolCall) -> DecisionLike | None:
        """The policy's decision, synchronous; None when nothing is checked."""
        ...

    async def ask_approval(self, call: ToolCall, decision: DecisionLike) -> bool: ...

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run a call once; a call id seen before returns its first result."""
        ...


async def run_turn(
    request: TurnRequest,
    *,
    log: ItemLog,
    transport: Transport,
    runner: CallRunner,
    turn: int,
    clock: TurnClock,
    emit: Emit,
    count_pending: Callable[[], None] | None = None,
) -> TurnOutcome:
    """Stream one response for ``request``, running its calls; returns what the turn produced.

    ``count_pending``, when given and the log has uncounted items, runs in a worker thread while
    the model streams (token counting for the context budget).
    """
    machine = TurnMachine(turn, clock, log.has_call, stream_text=emit is not no_emit)
    results: dict[str, str] = {}
    stream_error: Exception | None = None
    start_len = len(log)
    perf = time.perf_counter

    async with anyio.create_task_group() as tools:
        try:
            clock.sent = perf()
            async with transport.open_turn(request) as events:
                if count_pending is not None and log.uncounted():
                    tools.start_soon(anyio.to_thread.run_sync, count_pending)
                receive = machine.receive
                async for event in events:
                    action = receive(event, perf())
                    if action is None:
                        continue
                    cls = action.__class__
                    if cls is TextDelta:
                        await emit(action)  # type: ignore[arg-type]
                    elif cls is CallReady:
                        call = action.call  # type: ignore[union-attr]
                        log.append(call)
                        await emit(ItemAdded(turn, call))
                        gate = runner.check_call(call)
                        tools.start_soon(_run_call, runner, call, gate, turn, clock, results, emit)
                    elif cls is ItemReady:
                        item = action.item  # type: ignore[union-attr]
                        log.append(item)  # type: ignore[arg-type]
                        await emit(ItemAdded(turn, item))  # type: ignore[arg-type]
                    elif cls is Finished:
                        head = action.head  # type: ignore[union-attr]
                        if head is not None:
                            log.set_head(head)
                    elif cls is Failed:
                        raise action.error  # type: ignore[union-attr]
        except Exception as exc:
            # Not BaseException: cancellation must still cancel the tools. Any other failure
            # lets started tools finish so their side effects are recorded, then propagates.
            stream_error = exc
    # All tools of this turn have finished: log their outputs in call order.
    for out in machine.outputs(results, log.has_output):
        log.append(out)
        await emit(ItemAdded(turn, out))
    if stream_error is not None:
        if not machine.keep_partial:
            # Nothing ran for this partial response (text, reasoning): the retry regenerates
            # it, so keeping it would make the model see and repeat half an answer.
            log.discard_from(start_len)
        raise stream_error
    return machine.outcome


def call_input(call: ToolCall) -> str:
    """What the model passed: the JSON argument string, or a custom call's free text."""
    return call.input if isinstance(call, CustomToolCall) else call.arguments


async def _run_call(
    runner: CallRunner,
    call: ToolCall,
    gate: DecisionLike | None,
    turn: int,
    clock: TurnClock,
    results: dict[str, str],
    emit: Emit,
) -> None:
    start = time.perf_counter()
    denied = False
    decision = gate
    if decision is not None and decision.action != "allow":
        approved: bool | None = None
        if decision.action == "ask":
            approved = await runner.ask_approval(call, decision)
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
            ToolCallStarted(turn, call.call_id, call.name, call_input(call), start - clock.sent)
        )
        result = await runner.execute(call)
    end = time.perf_counter()
    clock.tool_spans.append((start, end))
    results[call.call_id] = result.output
    await emit(
        ToolCallFinished(
            turn, call.call_id, call.name, result.output, result.is_error, end - start, denied
        )
    )


def parse_arguments(call: ToolCall, text_param: str = "input") -> dict[str, Any]:
    """The call's arguments as a dict for the policy (``{}`` when they are not a JSON object).

    A custom call's free text is given as ``{text_param: text}`` (``{"patch": ...}`` for
    apply_patch), so a policy sees it as it would see the function form.
    """
    if isinstance(call, CustomToolCall):
        return {text_param: call.input}
    try:
        data = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, Mapping) and isinstance(data, dict) else {}
