"""Lifecycle hooks: code of yours that runs before and after each model call and tool call.

Subclass :class:`Hooks` and override what you need; each method may be sync or async::

    class Audit(Hooks):
        def before_tool_call(self, call: ToolCallInfo) -> Veto | None:
            if call.name == "delete_branch":
                return Veto("branches are never deleted from this agent")
            return None

    AgentSession(..., hooks=[Audit()])          # every run
    await session.run(prompt, hooks=[Audit()])  # this run only (after the session's)

Hooks see frozen snapshots (names, ids, argument strings, usage): they can observe, and veto a
tool call, but cannot rewrite requests, arguments or outputs. A vetoed call is not executed; the
model receives an output saying so, and the run goes on. A model hook that raises fails the run.
A tool hook that raises (or returns something other than None or a Veto) is logged with its
traceback at WARNING; in ``before_tool_call`` it vetoes the call (fail closed), since tool calls
run side by side and one bad hook should not cancel its siblings mid-effect.

The model-call hooks wrap each request (each retry attempt too). Tool calls start while the
response is still streaming, so the tool hooks of a response usually run before its
``after_model_call``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..tools.spec import ToolResult

__all__ = ["Hooks", "ModelCallInfo", "ModelResponseInfo", "ToolCallInfo", "Veto"]

log = logging.getLogger("responses_fast.hooks")


@dataclass(frozen=True, slots=True)
class ModelCallInfo:
    """A model request about to go out."""

    run_id: str
    turn: int
    attempt: int
    model: str
    #: Items in the conversation log (what the request carries, or continues from).
    items: int


@dataclass(frozen=True, slots=True)
class ModelResponseInfo:
    """What a model call produced."""

    response_id: str | None
    status: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    #: Names of the tools the response called, in order.
    tool_calls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ToolCallInfo:
    """A tool call about to run (it passed the safety policy)."""

    run_id: str
    turn: int
    call_id: str
    name: str
    #: The JSON argument string as the model sent it (a custom tool's free text).
    arguments: str


@dataclass(frozen=True, slots=True)
class Veto:
    """Returned by ``before_tool_call`` to stop a call; ``reason`` goes to the model."""

    reason: str


class Hooks:
    """Base class: every method does nothing. Override any of them, sync or async."""

    def before_model_call(self, call: ModelCallInfo) -> Any:
        """Runs before each model request (and each retry of it)."""

    def after_model_call(self, call: ModelCallInfo, response: ModelResponseInfo) -> Any:
        """Runs after a model call completed (its tools have run by then)."""

    def before_tool_call(self, call: ToolCallInfo) -> Any:
        """Runs before a tool call; return ``Veto(reason)`` to stop it."""

    def after_tool_call(self, call: ToolCallInfo, result: ToolResult) -> Any:
        """Runs after a tool call (vetoed calls included) with the output the model will see."""


async def _call(fn: Any, *args: Any) -> Any:
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value


class HookChain:
    """The hooks of one run, in order (the session's, then the run's)."""

    __slots__ = ("hooks",)

    def __init__(self, hooks: Sequence[Hooks]) -> None:
        for h in hooks:
            if not isinstance(h, Hooks):
                raise TypeError(f"hooks must be Hooks instances, not {type(h).__name__}")
        self.hooks = tuple(hooks)

    def __bool__(self) -> bool:
        return bool(self.hooks)

    async def before_model_call(self, call: ModelCallInfo) -> None:
        for h in self.hooks:
            await _call(h.before_model_call, call)

    async def after_model_call(self, call: ModelCallInfo, response: ModelResponseInfo) -> None:
        for h in self.hooks:
            await _call(h.after_model_call, call, response)

    async def before_tool_call(self, call: ToolCallInfo) -> Veto | None:
        """The first veto wins; later hooks do not run for a vetoed call. A failing hook vetoes."""
        for h in self.hooks:
            try:
                verdict = await _call(h.before_tool_call, call)
                if verdict is not None and not isinstance(verdict, Veto):
                    raise TypeError(f"returned {verdict!r}: return None or Veto(reason)")
            except Exception as exc:
                where = f"{type(h).__name__}.before_tool_call"
                log.warning("%s failed for %s (%s)", where, call.name, call.call_id, exc_info=True)
                return Veto(f"{where} failed ({type(exc).__name__}: {exc})")
            if verdict is not None:
                return verdict
        return None

    async def after_tool_call(self, call: ToolCallInfo, result: ToolResult) -> None:
        for h in self.hooks:
            try:
                await _call(h.after_tool_call, call, result)
            except Exception:
                where = f"{type(h).__name__}.after_tool_call"
                log.warning("%s failed for %s (%s)", where, call.name, call.call_id, exc_info=True)
