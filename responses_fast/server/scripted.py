"""The scripted model: a script plus a conversation -> a pure, timed schedule of events.

Nothing here does I/O or reads a clock. The endpoints (websocket.py, http.py, chat.py) turn a
request into a list of :class:`Entry` (the conversation, normalised), ask :func:`plan_turn` which
turn to play, and pace the events of :func:`response_schedule` (or chat.py's chunks) on the clock.

Script format (docs/server.md has the full text)::

    {"tokens_per_second": 1000, "ttft": 0,          # optional; or the top level is just the list
     "turns": [
        [{"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}}],
        [{"type": "custom_tool_call", "name": "apply_patch", "input": "*** Begin Patch..."}],
        {"alternatives": [{"match": "def f", "output": [{"type": "message", "text": "Fixed."}]},
                          {"output": ["I could not find it."]}],
         "fault": {"kind": "close", "after_events": 3, "code": 1006},
         "tokens": {"input_tokens": 100}},
     ],
     "compaction": {"match": "CONTEXT CHECKPOINT COMPACTION", "summary": "Work so far: ..."}}

Turn selection: the turn index is the number of model turns already in the full context
(conversation.py: every model item kind counts, and compacted history keeps its count). A request
whose latest input contains the compaction ``match`` is a compaction request: the model answers
with the summary (plus the marker that keeps the count) and the script does not advance. A
script-level ``select`` of ``match`` or ``requests`` picks turns by the latest input or by the
conversation's request count instead (docs/server.md).

Tokens: text, argument and custom-input strings are split into chunks of at most 4 characters;
one delta event per chunk; token k (0-based) of a turn is due at ``ttft + k / tokens_per_second``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from .conversation import (
    Entry,
    compaction_content,
    context_from_items,
    context_from_messages,
    count_model_turns,
    latest_input_text,
    summary_marker,
)
from .faults import Fault, parse_fault

__all__ = [
    "COMPACTION_MATCH",
    "DEFAULT_TOKENS_PER_SECOND",
    "DEFAULT_TTFT",
    "Alternative",
    "Compaction",
    "Entry",
    "Script",
    "ScriptItem",
    "Turn",
    "TurnPlan",
    "context_from_items",
    "context_from_messages",
    "count_model_turns",
    "echo_plan",
    "estimate_tokens",
    "is_compaction_request",
    "output_items",
    "parse_script",
    "plan_turn",
    "response_schedule",
    "split_tokens",
    "usage_object",
]

DEFAULT_TOKENS_PER_SECOND: float = 1000.0
DEFAULT_TTFT: float = 0.0
TOKEN_CHARS = 4
END_TEXT = "(script ended)"
COMPACTION_MATCH = "CONTEXT CHECKPOINT COMPACTION"  # in Codex's prompt for its own compaction
COMPACTION_SUMMARY = "Summary of the conversation so far."

ItemKind = Literal["message", "function_call", "custom_tool_call", "reasoning", "compaction"]
ScheduledEvent = tuple[float, dict[str, Any]]


# --------------------------------------------------------------------------- script model


@dataclass(frozen=True, slots=True)
class ScriptItem:
    """One output item: a message, a function call, a custom tool call or a reasoning summary.

    ``text`` is a message's text, a reasoning summary or a custom tool call's ``input``;
    ``status`` is ``incomplete`` for an item cut at the request's output budget.
    """

    kind: ItemKind
    text: str = ""
    name: str = ""
    arguments: str = ""
    call_id: str | None = None
    status: str = "completed"

    @property
    def is_call(self) -> bool:
        return self.kind in ("function_call", "custom_tool_call")

    @property
    def body(self) -> str:
        """The streamed string: arguments of a function call, else the text."""
        return self.arguments if self.kind == "function_call" else self.text


@dataclass(frozen=True, slots=True)
class Alternative:
    match: str | None
    output: tuple[ScriptItem, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    alternatives: tuple[Alternative, ...]
    fault: Fault | None = None
    tokens: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Compaction:
    """How a script recognises a compaction request and what it answers."""

    match: str = COMPACTION_MATCH
    summary: str = COMPACTION_SUMMARY


@dataclass(frozen=True, slots=True)
class Script:
    turns: tuple[Turn, ...]
    tokens_per_second: float | None = None  # None: the server default
    ttft: float | None = None
    pacing_set: bool = False  # True when the script itself set tokens_per_second (None = off)
    compaction: Compaction = Compaction()
    select: Literal["history", "match", "requests"] = "history"


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """What one response plays: the turn index, its items, and its fault and usage override."""

    turn_index: int
    items: tuple[ScriptItem, ...]
    fault: Fault | None = None
    tokens: Mapping[str, int] | None = None
    incomplete: str | None = None  # incomplete_details.reason when a limit cut the output
    compaction: bool = False  # answers a compaction request


def _arguments(value: Any) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _parse_item(spec: Any) -> ScriptItem:
    if isinstance(spec, str):
        return ScriptItem("message", text=spec)
    if not isinstance(spec, Mapping):
        raise ValueError(f"a script item must be an object or a string, got {type(spec).__name__}")
    kind = spec.get("type", "message")
    if kind == "message":
        text = spec.get("text", "")
        if not isinstance(text, str):
            raise ValueError("message text must be a string")
        return ScriptItem("message", text=text)
    if kind == "function_call":
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("function_call needs a name")
        call_id = spec.get("call_id")
        return ScriptItem(
            "function_call", name=name, arguments=_arguments(spec.get("arguments")),
            call_id=str(call_id) if call_id is not None else None,
        )
    if kind == "custom_tool_call":
        name = spec.get("name")
        text = spec.get("input", "")
        if not isinstance(name, str) or not name:
            raise ValueError("custom_tool_call needs a name")
        if not isinstance(text, str):
            raise ValueError("custom_tool_call input must be a string (free text)")
        call_id = spec.get("call_id")
        return ScriptItem("custom_tool_call", name=name, text=text,
                          call_id=str(call_id) if call_id is not None else None)
    if kind == "reasoning":
        return ScriptItem("reasoning", text=str(spec.get("text", "")))
    raise ValueError(f"unknown script item type {kind!r}")


def _parse_output(spec: Any) -> tuple[ScriptItem, ...]:
    if isinstance(spec, str):
        return (ScriptItem("message", text=spec),)
    if not isinstance(spec, list):
        raise ValueError("a turn's output must be a list of items")
    return tuple(_parse_item(s) for s in spec)


def _parse_turn(spec: Any) -> Turn:
    if isinstance(spec, (list, str)):
        return Turn((Alternative(None, _parse_output(spec)),))
    if not isinstance(spec, Mapping):
        raise ValueError("a turn must be a list of items or an object")
    unknown = set(spec) - {"output", "alternatives", "fault", "tokens"}
    if unknown:
        raise ValueError(f"unknown turn fields: {sorted(unknown)}")
    if "alternatives" in spec:
        alts = []
        for a in spec["alternatives"]:
            if not isinstance(a, Mapping) or "output" not in a:
                raise ValueError("an alternative needs an 'output'")
            match = a.get("match")
            alts.append(Alternative(str(match) if match is not None else None,
                                    _parse_output(a["output"])))
        alternatives = tuple(alts)
    else:
        alternatives = (Alternative(None, _parse_output(spec.get("output", []))),)
    fault = parse_fault(spec["fault"]) if spec.get("fault") is not None else None
    tokens = spec.get("tokens")
    if tokens is not None and not isinstance(tokens, Mapping):
        raise ValueError("'tokens' must be an object")
    return Turn(alternatives, fault, {k: int(v) for k, v in tokens.items()} if tokens else None)


def _parse_compaction(spec: Any) -> Compaction:
    if spec is None:
        return Compaction()
    if not isinstance(spec, Mapping) or set(spec) - {"match", "summary"}:
        raise ValueError("'compaction' is an object with 'match' and 'summary' strings")
    match = spec.get("match", COMPACTION_MATCH)
    summary = spec.get("summary", COMPACTION_SUMMARY)
    if not isinstance(match, str) or not match or not isinstance(summary, str):
        raise ValueError("'compaction' is an object with 'match' and 'summary' strings")
    return Compaction(match, summary)


def parse_script(data: Any) -> Script:
    """Validate a script given as parsed JSON (a list of turns or an object with ``turns``)."""
    if isinstance(data, Script):
        return data
    if isinstance(data, list):
        return Script(tuple(_parse_turn(t) for t in data))
    if isinstance(data, Mapping):
        unknown = set(data) - {"turns", "tokens_per_second", "ttft", "compaction", "select"}
        if unknown:
            raise ValueError(f"unknown script fields: {sorted(unknown)}")
        select = data.get("select", "history")
        if select not in ("history", "match", "requests"):
            raise ValueError("'select' is 'history', 'match' or 'requests'")
        tps = data.get("tokens_per_second")
        ttft = data.get("ttft")
        return Script(
            tuple(_parse_turn(t) for t in data.get("turns", [])),
            tokens_per_second=float(tps) if tps else None,
            ttft=float(ttft) if ttft is not None else None,
            pacing_set="tokens_per_second" in data,
            compaction=_parse_compaction(data.get("compaction")),
            select=select,
        )
    raise ValueError("a script is a list of turns or an object with 'turns'")


# --------------------------------------------------------------------------- turn selection


def is_compaction_request(script: Script, context: Sequence[Entry]) -> bool:
    """A ``compaction_trigger`` item last, or the script's compaction phrase in the latest input."""
    if context and context[-1].kind == "trigger":
        return True
    return script.compaction.match in latest_input_text(context)


def _matching_turn(script: Script, latest: str) -> int | None:
    for i, turn in enumerate(script.turns):
        if any(a.match is not None and a.match in latest for a in turn.alternatives):
            return i
    return None


def plan_turn(script: Script, context: Sequence[Entry], requests: int = 0) -> TurnPlan:
    """Pick the turn for this context and the alternative whose ``match`` is in the latest input.

    The turn index follows the script's ``select``: ``history`` (default) counts the model turns
    in the context; ``match`` takes the first turn with an alternative whose ``match`` is in the
    latest input (else counts as ``history``); ``requests`` takes ``requests``, the number of
    earlier requests of this conversation the endpoint counted. A compaction request gets a
    compaction item or the script's summary instead and leaves the turn index as it is.
    """
    index = count_model_turns(context)
    if script.select == "requests":
        index = requests
    elif script.select == "match":
        found = _matching_turn(script, latest_input_text(context))
        index = index if found is None else found
    if context and context[-1].kind == "trigger":  # server-side compaction (compaction_trigger)
        return TurnPlan(index, (ScriptItem("compaction", text=compaction_content(index)),),
                        compaction=True)
    latest = latest_input_text(context)
    if script.compaction.match in latest:
        text = f"{script.compaction.summary}\n{summary_marker(index)}"
        return TurnPlan(index, (ScriptItem("message", text=text),), compaction=True)
    if index >= len(script.turns):
        return TurnPlan(index, (ScriptItem("message", text=END_TEXT),))
    turn = script.turns[index]
    for alt in turn.alternatives:
        if alt.match is None or alt.match in latest:
            return TurnPlan(index, alt.output, turn.fault, turn.tokens)
    return TurnPlan(index, (ScriptItem("message", text="(no alternative matched)"),),
                    turn.fault, turn.tokens)


def echo_plan(context: Sequence[Entry]) -> TurnPlan:
    """The echo model: one message repeating the latest user message."""
    text = ""
    for e in reversed(context):
        if e.kind == "user":
            text = e.text
            break
    return TurnPlan(count_model_turns(context), (ScriptItem("message", text=text),))


# --------------------------------------------------------------------------- tokens and usage


def split_tokens(text: str) -> list[str]:
    """The emulator's tokenizer: chunks of at most 4 characters."""
    return [text[i : i + TOKEN_CHARS] for i in range(0, len(text), TOKEN_CHARS)]


def estimate_tokens(text: str) -> int:
    """Input token estimate: ceil(characters / 4)."""
    return math.ceil(len(text) / TOKEN_CHARS)


def usage_object(
    input_tokens: int, cached_tokens: int, output_tokens: int, reasoning_tokens: int,
    override: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The Responses ``usage`` object (``tokens`` overrides any of the numbers)."""
    o = override or {}
    inp = o.get("input_tokens", input_tokens)
    cached = o.get("cached_tokens", min(cached_tokens, inp))
    out = o.get("output_tokens", output_tokens)
    return {
        "input_tokens": inp,
        "input_tokens_details": {
            "cached_tokens": cached,
            "cache_write_tokens": o.get("cache_write_tokens", 0),
        },
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": o.get("reasoning_tokens", reasoning_tokens)},
        "total_tokens": inp + out,
    }


# --------------------------------------------------------------------------- output items


def output_items(plan: TurnPlan) -> list[dict[str, Any]]:
    """The final (completed) output items of a plan, with deterministic ids."""
    t = plan.turn_index
    out: list[dict[str, Any]] = []
    for i, it in enumerate(plan.items):
        if it.kind == "function_call":
            out.append({
                "type": "function_call", "id": f"fc_{t}_{i}",
                "call_id": it.call_id or f"call_{t}_{i}", "name": it.name,
                "arguments": it.arguments, "status": it.status,
            })
        elif it.kind == "custom_tool_call":
            out.append({
                "type": "custom_tool_call", "id": f"ctc_{t}_{i}",
                "call_id": it.call_id or f"call_{t}_{i}", "name": it.name,
                "input": it.text, "status": it.status,
            })
        elif it.kind == "compaction":
            out.append({"type": "compaction", "id": f"cmp_{t}_{i}", "encrypted_content": it.text})
        elif it.kind == "reasoning":
            out.append({
                "type": "reasoning", "id": f"rs_{t}_{i}",
                "summary": [{"type": "summary_text", "text": it.text}],
                "encrypted_content": f"enc_{t}_{i}",
            })
        else:
            out.append({
                "type": "message", "id": f"msg_{t}_{i}", "role": "assistant",
                "status": it.status,
                "content": [{"type": "output_text", "text": it.text, "annotations": [],
                             "logprobs": []}],
            })
    return out


def output_token_counts(plan: TurnPlan) -> tuple[int, int]:
    """(output tokens, reasoning tokens) of a plan by the 4-character rule."""
    total = 0
    reasoning = 0
    for it in plan.items:
        n = len(split_tokens(it.body))
        total += n
        if it.kind == "reasoning":
            reasoning += n
    return total, reasoning


# --------------------------------------------------------------------------- the schedule


def due(k: int, tokens_per_second: float | None, ttft: float) -> float:
    """When token ``k`` (0-based) of a turn is due, relative to the request."""
    if not tokens_per_second:
        return ttft
    return ttft + k / tokens_per_second


def response_schedule(
    plan: TurnPlan,
    response: Mapping[str, Any],
    usage: Mapping[str, Any],
    tokens_per_second: float | None,
    ttft: float,
) -> list[ScheduledEvent]:
    """Every event of one response as ``(due_offset_seconds, event)``, sequence numbers from 0.

    ``response`` is the Response object skeleton (id, model, tools, ...); the lifecycle events carry
    it with ``status``/``output``/``usage`` filled in. Offsets never decrease.
    """
    events: list[ScheduledEvent] = []
    k = 0  # next token index
    now = 0.0

    def emit(event: dict[str, Any]) -> None:
        event["sequence_number"] = len(events)
        events.append((now, event))

    # No "usage" before the terminal event: the spec allows it absent, not null.
    emit({"type": "response.created",
          "response": {**response, "status": "in_progress", "output": []}})
    emit({"type": "response.in_progress",
          "response": {**response, "status": "in_progress", "output": []}})
    now = due(0, tokens_per_second, ttft)
    finals = output_items(plan)
    for idx, (it, final) in enumerate(zip(plan.items, finals, strict=True)):
        item_id = final["id"]
        if it.kind == "function_call":
            emit({"type": "response.output_item.added", "output_index": idx,
                  "item": {**final, "arguments": "", "status": "in_progress"}})
            for piece in split_tokens(it.arguments):
                now = due(k, tokens_per_second, ttft)
                k += 1
                emit({"type": "response.function_call_arguments.delta", "item_id": item_id,
                      "output_index": idx, "delta": piece})
            emit({"type": "response.function_call_arguments.done", "item_id": item_id,
                  "output_index": idx, "name": final["name"], "arguments": it.arguments})
        elif it.kind == "custom_tool_call":
            emit({"type": "response.output_item.added", "output_index": idx,
                  "item": {**final, "input": "", "status": "in_progress"}})
            for piece in split_tokens(it.text):
                now = due(k, tokens_per_second, ttft)
                k += 1
                emit({"type": "response.custom_tool_call_input.delta", "item_id": item_id,
                      "output_index": idx, "delta": piece})
            emit({"type": "response.custom_tool_call_input.done", "item_id": item_id,
                  "output_index": idx, "input": it.text})
        elif it.kind == "compaction":
            now = due(k, tokens_per_second, ttft)
            k += len(split_tokens(it.text))
            emit({"type": "response.output_item.added", "output_index": idx, "item": final})
        elif it.kind == "reasoning":
            emit({"type": "response.output_item.added", "output_index": idx,
                  "item": {**final, "summary": []}})
            part = {"type": "summary_text", "text": ""}
            emit({"type": "response.reasoning_summary_part.added", "item_id": item_id,
                  "output_index": idx, "summary_index": 0, "part": part})
            for piece in split_tokens(it.text):
                now = due(k, tokens_per_second, ttft)
                k += 1
                emit({"type": "response.reasoning_summary_text.delta", "item_id": item_id,
                      "output_index": idx, "summary_index": 0, "delta": piece})
            emit({"type": "response.reasoning_summary_text.done", "item_id": item_id,
                  "output_index": idx, "summary_index": 0, "text": it.text})
            emit({"type": "response.reasoning_summary_part.done", "item_id": item_id,
                  "output_index": idx, "summary_index": 0,
                  "part": {"type": "summary_text", "text": it.text}})
        else:
            emit({"type": "response.output_item.added", "output_index": idx,
                  "item": {**final, "status": "in_progress", "content": []}})
            emit({"type": "response.content_part.added", "item_id": item_id,
                  "output_index": idx, "content_index": 0,
                  "part": {"type": "output_text", "text": "", "annotations": [],
                           "logprobs": []}})
            for piece in split_tokens(it.text):
                now = due(k, tokens_per_second, ttft)
                k += 1
                emit({"type": "response.output_text.delta", "item_id": item_id,
                      "output_index": idx, "content_index": 0, "delta": piece, "logprobs": []})
            emit({"type": "response.output_text.done", "item_id": item_id, "output_index": idx,
                  "content_index": 0, "text": it.text, "logprobs": []})
            emit({"type": "response.content_part.done", "item_id": item_id,
                  "output_index": idx, "content_index": 0,
                  "part": {"type": "output_text", "text": it.text, "annotations": [],
                           "logprobs": []}})
        emit({"type": "response.output_item.done", "output_index": idx, "item": final})
    status = "incomplete" if plan.incomplete else "completed"
    details = {"reason": plan.incomplete} if plan.incomplete else None
    emit({"type": f"response.{status}",
          "response": {**response, "status": status, "output": finals, "usage": dict(usage),
                       "incomplete_details": details}})
    return events
