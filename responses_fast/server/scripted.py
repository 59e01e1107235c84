"""The scripted model: a script plus a conversation -> a pure, timed schedule of events.

Nothing here does I/O or reads a clock. The endpoints (websocket.py, http.py, chat.py) turn a
request into a list of :class:`Entry` (the conversation, normalised), ask :func:`plan_turn` which
turn to play, and pace the events of :func:`response_schedule` (or chat.py's chunks) on the clock.

Script format (docs/server.md has the full text)::

    {"tokens_per_second": 1000, "ttft": 0,          # optional; or the top level is just the list
     "turns": [
        [{"type": "function_call", "name": "read_file", "arguments": {"path": "a.py"}}],
        {"alternatives": [{"match": "def f", "output": [{"type": "message", "text": "Fixed."}]},
                          {"output": ["I could not find it."]}],
         "fault": {"kind": "close", "after_events": 3, "code": 1006},
         "tokens": {"input_tokens": 100}},
     ]}

Turn selection: the turn index is the number of model turns already in the full context, a model
turn being a maximal run of consecutive model-produced items (function_call, assistant message,
reasoning). Tokens: text and argument strings are split into chunks of at most 4 characters; one
delta event per chunk; token k (0-based) of a turn is due at ``ttft + k / tokens_per_second``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from .faults import Fault, parse_fault

__all__ = [
    "DEFAULT_TOKENS_PER_SECOND",
    "DEFAULT_TTFT",
    "Alternative",
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

ItemKind = Literal["message", "function_call", "reasoning"]
ScheduledEvent = tuple[float, dict[str, Any]]


# --------------------------------------------------------------------------- script model


@dataclass(frozen=True, slots=True)
class ScriptItem:
    """One output item the model emits: a message, a function call or a reasoning summary."""

    kind: ItemKind
    text: str = ""
    name: str = ""
    arguments: str = ""
    call_id: str | None = None


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
class Script:
    turns: tuple[Turn, ...]
    tokens_per_second: float | None = None  # None: the server default
    ttft: float | None = None
    pacing_set: bool = False  # True when the script itself set tokens_per_second (None = off)


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """What one response plays: the turn index, its items, and its fault and usage override."""

    turn_index: int
    items: tuple[ScriptItem, ...]
    fault: Fault | None = None
    tokens: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One conversation entry, normalised: ``kind`` is model, user, tool or other."""

    kind: Literal["model", "user", "tool", "other"]
    text: str
    key: str = field(default="", compare=False)  # canonical form, for prefix caching


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


def parse_script(data: Any) -> Script:
    """Validate a script given as parsed JSON (a list of turns or an object with ``turns``)."""
    if isinstance(data, Script):
        return data
    if isinstance(data, list):
        return Script(tuple(_parse_turn(t) for t in data))
    if isinstance(data, Mapping):
        unknown = set(data) - {"turns", "tokens_per_second", "ttft"}
        if unknown:
            raise ValueError(f"unknown script fields: {sorted(unknown)}")
        tps = data.get("tokens_per_second")
        ttft = data.get("ttft")
        return Script(
            tuple(_parse_turn(t) for t in data.get("turns", [])),
            tokens_per_second=float(tps) if tps else None,
            ttft=float(ttft) if ttft is not None else None,
            pacing_set="tokens_per_second" in data,
        )
    raise ValueError("a script is a list of turns or an object with 'turns'")


# --------------------------------------------------------------------------- context


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, Mapping):
                t = p.get("text", p.get("refusal", ""))
                parts.append(t if isinstance(t, str) else "")
            elif isinstance(p, str):
                parts.append(p)
        return "".join(parts)
    return str(content)


def _key(*parts: Any) -> str:
    return orjson.dumps(parts).decode()


def context_from_items(items: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """Normalise Responses input/output items (plain dicts) into entries."""
    out: list[Entry] = []
    for it in items:
        t = it.get("type")
        if t is None and "role" in it:
            t = "message"
        if t == "message":
            role = it.get("role", "user")
            text = _content_text(it.get("content"))
            kind: Literal["model", "user", "tool", "other"] = (
                "model" if role == "assistant" else "user" if role == "user" else "other"
            )
            out.append(Entry(kind, text, _key("m", role, text)))
        elif t == "function_call":
            out.append(Entry("model", "", _key("fc", it.get("call_id"), it.get("name"),
                                                 it.get("arguments"))))
        elif t == "reasoning":
            out.append(Entry("model", "", _key("rs", _content_text(it.get("summary")),
                                                 it.get("encrypted_content"))))
        elif t in ("function_call_output", "custom_tool_call_output"):
            text = _content_text(it.get("output"))
            out.append(Entry("tool", text, _key("fo", it.get("call_id"), text)))
        else:
            out.append(Entry("other", "", _key("x", dict(it))))
    return out


def context_from_messages(messages: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """Normalise Chat Completions messages into entries (assistant messages are model turns)."""
    out: list[Entry] = []
    for m in messages:
        role = m.get("role")
        text = _content_text(m.get("content"))
        if role == "assistant":
            calls = [
                (c.get("id"), (c.get("function") or {}).get("name"),
                 (c.get("function") or {}).get("arguments"))
                for c in (m.get("tool_calls") or []) if isinstance(c, Mapping)
            ]
            out.append(Entry("model", text, _key("a", text, calls)))
        elif role == "tool":
            out.append(Entry("tool", text, _key("t", m.get("tool_call_id"), text)))
        elif role == "user":
            out.append(Entry("user", text, _key("u", text)))
        else:
            out.append(Entry("other", text, _key(str(role), text)))
    return out


def count_model_turns(context: Sequence[Entry]) -> int:
    """Number of maximal runs of consecutive model entries."""
    runs = 0
    prev = False
    for e in context:
        is_model = e.kind == "model"
        if is_model and not prev:
            runs += 1
        prev = is_model
    return runs


def _latest_text(context: Sequence[Entry]) -> str:
    for e in reversed(context):
        if e.kind in ("user", "tool"):
            return e.text
    return ""


def plan_turn(script: Script, context: Sequence[Entry]) -> TurnPlan:
    """Pick the turn for this context and the alternative whose ``match`` is in the latest input."""
    index = count_model_turns(context)
    if index >= len(script.turns):
        return TurnPlan(index, (ScriptItem("message", text=END_TEXT),))
    turn = script.turns[index]
    latest = _latest_text(context)
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
                "arguments": it.arguments, "status": "completed",
            })
        elif it.kind == "reasoning":
            out.append({
                "type": "reasoning", "id": f"rs_{t}_{i}",
                "summary": [{"type": "summary_text", "text": it.text}],
                "encrypted_content": f"enc_{t}_{i}",
            })
        else:
            out.append({
                "type": "message", "id": f"msg_{t}_{i}", "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": it.text, "annotations": []}],
            })
    return out


def output_token_counts(plan: TurnPlan) -> tuple[int, int]:
    """(output tokens, reasoning tokens) of a plan by the 4-character rule."""
    total = 0
    reasoning = 0
    for it in plan.items:
        n = len(split_tokens(it.arguments if it.kind == "function_call" else it.text))
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

    emit({"type": "response.created",
          "response": {**response, "status": "in_progress", "output": [], "usage": None}})
    emit({"type": "response.in_progress",
          "response": {**response, "status": "in_progress", "output": [], "usage": None}})
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
                  "part": {"type": "output_text", "text": "", "annotations": []}})
            for piece in split_tokens(it.text):
                now = due(k, tokens_per_second, ttft)
                k += 1
                emit({"type": "response.output_text.delta", "item_id": item_id,
                      "output_index": idx, "content_index": 0, "delta": piece, "logprobs": []})
            emit({"type": "response.output_text.done", "item_id": item_id, "output_index": idx,
                  "content_index": 0, "text": it.text, "logprobs": []})
            emit({"type": "response.content_part.done", "item_id": item_id,
                  "output_index": idx, "content_index": 0,
                  "part": {"type": "output_text", "text": it.text, "annotations": []}})
        emit({"type": "response.output_item.done", "output_index": idx, "item": final})
    emit({"type": "response.completed",
          "response": {**response, "status": "completed", "output": finals, "usage": dict(usage)}})
    return events
