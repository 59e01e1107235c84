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
model receives an output saying so, and the run goes on. A hook that raises fails the run (a hook
is your code: an error in it is a bug to surface, not a tool failure to hide).

The model-call hooks wrap each request (each retry attempt too). Tool calls start while the
response is still streaming, so the tool hooks of a response usually run before its
``after_model_call``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..tools.spec import ToolResult

__all__ = ["Hooks", "ModelCallInfo", "ModelResponseInfo", "ToolCallInfo", "Veto"]


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
    #: The JSON argument string as the model sent it.
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
        """The first veto wins; later hooks do not run for a vetoed call."""
        for h in self.hooks:
            verdict = await _call(h.before_tool_call, call)
            if isinstance(verdict, Veto):
                return verdict
            if verdict is not None:
                raise TypeError(
                    f"{type(h).__name__}.before_tool_call returned {verdict!r}: "
                    "return None or Veto(reason)"
                )
        return None

    async def after_tool_call(self, call: ToolCallInfo, result: ToolResult) -> None:
        for h in self.hooks:
            await _call(h.after_tool_call, call, result)
