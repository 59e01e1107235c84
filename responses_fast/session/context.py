"""The per-run state behind typed output, tool context, hooks and tracing.

``AgentSession`` creates one :class:`RunScope` per ``run()``/``stream()`` and calls it at a few
hook points of the loop (each a line or two in session.py):

- ``_run``: ``scope.observe(emit)`` at the start (tracing sees every event), ``scope.review()``
  when a turn made no calls (typed output: None to stop, or a correction to send), ``scope.finish``
  when the run ends;
- ``_turn_with_retries``: ``scope.settings_for()`` for the request, ``scope.before_model()`` /
  ``scope.after_model()`` around each attempt;
- ``execute``: ``scope.context_for()`` for tools that take a ``RunContext``, ``scope.gate()`` /
  ``scope.after_tool()`` around the call.

A scope with nothing configured costs a few attribute checks per turn.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from ..protocol.items import user_message
from ..tools.context import RunContext
from ..tools.spec import ToolResult
from ..transports.base import RequestSettings
from .hooks import HookChain, Hooks, ModelCallInfo, ModelResponseInfo, ToolCallInfo
from .output import OutputSpec
from .tracing import RunTracer

if TYPE_CHECKING:
    from .session import AgentSession
    from .turn import Emit, TurnOutcome

__all__ = ["RunScope"]

_run_ids = itertools.count(1)
_PID = os.getpid()


class CallLike(Protocol):
    """A function call or a custom (freeform) tool call: both have an id and a name."""

    @property
    def call_id(self) -> str: ...
    @property
    def name(self) -> str: ...


def _arguments(call: CallLike) -> str:
    """The JSON arguments of a function call, the free text of a custom tool call."""
    value = getattr(call, "arguments", None)
    if value is None:
        value = getattr(call, "input", "")
    return str(value)


class RunScope:
    """What one run was asked for beyond its prompt, and the state that goes with it."""

    def __init__(
        self,
        session: AgentSession,
        *,
        output: OutputSpec | None = None,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
    ) -> None:
        self.session = session
        self.run_id = f"run_{_PID}_{next(_run_ids)}"
        self.output = output
        self.deps = deps
        self.hooks = HookChain(hooks)
        self.turn = 0
        self.tracer: RunTracer | None = None
        self._settings: RequestSettings | None = None

    # -- _run

    def observe(self, emit: Emit) -> Emit:
        """``emit`` plus the tracer, when the session traces (else ``emit`` itself)."""
        session = self.session
        if session.tracer is None:
            return emit
        self.tracer = tracer = RunTracer(
            session.tracer, model=session.model, agent=session.name, base_url=session.base_url
        )

        async def traced(event: Any) -> None:
            tracer.on_event(event)
            await emit(event)

        return traced

    def review(self, final_text: str) -> BaseModel | None:
        """After a turn without calls: None when the run is done, else the message to send.

        Raises OutputValidationError when the typed output is still invalid after its retries.
        """
        if self.output is None or self.output.valid:
            return None
        correction = self.output.check(final_text)
        return None if correction is None else user_message(correction)

    @property
    def value(self) -> Any:
        """The validated output (None without ``output_type``)."""
        return self.output.value if self.output is not None else None

    def finish(self, error: BaseException | None) -> None:
        if self.tracer is not None:
            self.tracer.finish(error)

    # -- _turn_with_retries

    def settings_for(self, settings: RequestSettings) -> RequestSettings:
        """The request settings of this run (one object per run, so transports render it once)."""
        if self.output is None:
            return settings
        if self._settings is None:
            self._settings = self.output.settings_for(settings, self.session.transport.name)
        return self._settings

    def model_call(self, turn: int, attempt: int) -> ModelCallInfo:
        self.turn = turn
        return ModelCallInfo(self.run_id, turn, attempt, self.session.model, len(self.session.log))

    async def before_model(self, turn: int, attempt: int) -> ModelCallInfo | None:
        self.turn = turn
        if not self.hooks:
            return None
        info = self.model_call(turn, attempt)
        await self.hooks.before_model_call(info)
        return info

    async def after_model(self, info: ModelCallInfo | None, outcome: TurnOutcome) -> None:
        if info is None:
            return
        response = ModelResponseInfo(
            response_id=outcome.response_id,
            status=outcome.status,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cached_tokens=outcome.cached_tokens,
            tool_calls=tuple(c.name for c in outcome.calls),
        )
        await self.hooks.after_model_call(info, response)

    # -- execute

    def context_for(self, call: CallLike) -> RunContext[Any]:
        return RunContext(
            deps=self.deps,
            session=self.session,
            run_id=self.run_id,
            turn=self.turn,
            call_id=call.call_id,
            tool_name=call.name,
            arguments=_arguments(call),
        )

    def _tool_info(self, call: CallLike) -> ToolCallInfo:
        return ToolCallInfo(self.run_id, self.turn, call.call_id, call.name, _arguments(call))

    async def gate(self, call: CallLike) -> ToolResult | None:
        """None to run the call, or the output of a vetoed call."""
        if not self.hooks:
            return None
        veto = await self.hooks.before_tool_call(self._tool_info(call))
        if veto is None:
            return None
        return ToolResult(
            f"vetoed by a hook: {veto.reason}. The call was not executed; "
            "try a different approach.",
            is_error=True,
        )

    async def after_tool(self, call: CallLike, result: ToolResult) -> None:
        if self.hooks:
            await self.hooks.after_tool_call(self._tool_info(call), result)
