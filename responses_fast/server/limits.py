"""The request's limits and tool choices applied to a scripted turn (protocol.md section 11a.18).

Pure: a :class:`TurnPlan` and the request's fields in, the plan a real model would have produced
under them out.

- ``tool_choice: "none"`` drops every call (a message stands in when nothing else is left);
  ``"required"`` keeps the calls or, when the turn has none, calls the request's first tool;
  a named tool (``{"type": "function"|"custom", "name": ...}``) keeps only calls of it, or calls
  it.
- ``parallel_tool_calls: false`` keeps the first call and drops later ones.
- An output budget (``max_output_tokens``, Chat ``max_completion_tokens``/``max_tokens``) cuts
  the output at that many tokens (the 4-character rule): the item being written when the budget
  runs out is truncated and marked ``incomplete``, later items are dropped, and the plan's
  ``incomplete`` reason is ``max_output_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .scripted import TOKEN_CHARS, ScriptItem, TurnPlan, split_tokens

__all__ = ["MIN_OUTPUT_TOKENS", "LimitError", "apply_limits", "forced_tool"]

MIN_OUTPUT_TOKENS = 16  # the API's minimum for max_output_tokens
NO_CALL_TEXT = "(tool_choice is none: answering without a tool call)"


class LimitError(ValueError):
    """A request field the limits cannot honour; ``param`` names it."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def forced_tool(tool_choice: Any, tools: Sequence[Mapping[str, Any]] | None) -> ScriptItem | None:
    """The call a ``required`` or named ``tool_choice`` asks for (None: no call is forced)."""
    if isinstance(tool_choice, Mapping):
        kind = tool_choice.get("type")
        name = tool_choice.get("name")
        if name is None and isinstance(tool_choice.get("function"), Mapping):  # Chat form
            name = tool_choice["function"].get("name")
        if kind in ("function", "custom") and isinstance(name, str) and name:
            return _call(kind, name)
        return None
    if tool_choice == "required":
        for tool in tools or []:
            kind = tool.get("type")
            name = tool.get("name")
            if name is None and isinstance(tool.get("function"), Mapping):  # Chat form
                name = tool["function"].get("name")
            if kind in ("function", "custom") and isinstance(name, str):
                return _call(kind, name)
        raise LimitError("tool_choice 'required' needs at least one function or custom tool.",
                         "tool_choice")
    return None


def _call(kind: str, name: str) -> ScriptItem:
    if kind == "custom":
        return ScriptItem("custom_tool_call", name=name, text="")
    return ScriptItem("function_call", name=name, arguments="{}")


def _choose_tools(items: tuple[ScriptItem, ...], tool_choice: Any,
                  tools: Sequence[Mapping[str, Any]] | None) -> tuple[ScriptItem, ...]:
    if tool_choice == "none":
        kept = tuple(it for it in items if not it.is_call)
        if not any(it.kind == "message" for it in kept):
            kept = (*kept, ScriptItem("message", text=NO_CALL_TEXT))
        return kept
    forced = forced_tool(tool_choice, tools)
    if forced is None:
        return items
    if isinstance(tool_choice, Mapping):  # named: only calls of that tool
        items = tuple(it for it in items if not it.is_call or it.name == forced.name)
    if not any(it.is_call for it in items):
        items = (*tuple(it for it in items if it.kind == "reasoning"), forced)
    return items


def _one_call(items: tuple[ScriptItem, ...]) -> tuple[ScriptItem, ...]:
    out: list[ScriptItem] = []
    seen = False
    for it in items:
        if it.is_call:
            if seen:
                continue
            seen = True
        out.append(it)
    return tuple(out)


def _cut(items: tuple[ScriptItem, ...], budget: int) -> tuple[tuple[ScriptItem, ...], bool]:
    out: list[ScriptItem] = []
    left = budget
    for it in items:
        n = len(split_tokens(it.body))
        if n <= left:
            out.append(it)
            left -= n
            continue
        if left > 0:
            cut = it.body[: left * TOKEN_CHARS]
            if it.kind == "function_call":
                out.append(replace(it, arguments=cut, status="incomplete"))
            else:
                out.append(replace(it, text=cut, status="incomplete"))
        return tuple(out), True
    return tuple(out), False


def apply_limits(
    plan: TurnPlan, *, max_output_tokens: int | None = None, tool_choice: Any = None,
    parallel_tool_calls: bool | None = None, tools: Sequence[Mapping[str, Any]] | None = None,
    budget_param: str = "max_output_tokens",
) -> TurnPlan:
    """The plan as the request's limits shape it (raises LimitError for an unusable field)."""
    least = MIN_OUTPUT_TOKENS if budget_param == "max_output_tokens" else 1
    if max_output_tokens is not None and max_output_tokens < least:
        raise LimitError(
            f"Invalid '{budget_param}': integer below minimum value. Expected a value >= "
            f"{least}, but got {max_output_tokens} instead.", budget_param)
    items = plan.items
    if any(it.kind == "compaction" for it in items):
        return plan  # a compaction item is written whole
    if not plan.compaction:
        items = _choose_tools(items, tool_choice, tools)
    if parallel_tool_calls is False:
        items = _one_call(items)
    incomplete = None
    if max_output_tokens is not None:
        items, was_cut = _cut(items, max_output_tokens)
        incomplete = "max_output_tokens" if was_cut else None
    return replace(plan, items=items, incomplete=incomplete)
