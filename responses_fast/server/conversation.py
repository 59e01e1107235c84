"""A request's conversation, normalised: entries, model-turn counting, compaction markers.

Pure. Every item kind the model produces (``MODEL_ITEM_TYPES``: assistant message, reasoning,
function_call, custom_tool_call) belongs to a model turn; a model turn is a maximal run of
consecutive model entries. A compacted history still counts its turns: the compaction item the
server hands out (``POST /v1/responses/compact``) and the summary a scripted model writes for a
client's own compaction request both carry the number of model turns they replace.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from responses_fast.protocol.items import MODEL_ITEM_TYPES

__all__ = [
    "Entry",
    "compaction_content",
    "content_text",
    "context_from_items",
    "context_from_messages",
    "count_model_turns",
    "latest_input_text",
    "summary_marker",
]

_CONTENT_PREFIX = "rf-compaction:"
_MARKER = re.compile(r"\[responses_fast model_turns=(\d+)\]")


@dataclass(frozen=True, slots=True)
class Entry:
    """One conversation entry, normalised: ``kind`` is model, user, tool, trigger or other.

    ``trigger`` is a ``compaction_trigger`` input item: the request asks for a compaction item.

    ``turns`` is the number of model turns the entry stands for when it replaces compacted history
    (a compaction item, or a summary message carrying the marker); 0 otherwise.
    """

    kind: Literal["model", "user", "tool", "trigger", "other"]
    text: str
    key: str = field(default="", compare=False)  # canonical form, for prefix caching
    turns: int = field(default=0, compare=False)


def compaction_content(model_turns: int) -> str:
    """The ``encrypted_content`` of a compaction item that replaces ``model_turns`` turns."""
    raw = orjson.dumps({"model_turns": model_turns})
    return _CONTENT_PREFIX + base64.urlsafe_b64encode(raw).decode()


def _compacted_turns(content: Any) -> int:
    if not isinstance(content, str) or not content.startswith(_CONTENT_PREFIX):
        return 0
    try:
        data = orjson.loads(base64.urlsafe_b64decode(content[len(_CONTENT_PREFIX) :]))
    except (binascii.Error, ValueError):
        return 0
    n = data.get("model_turns") if isinstance(data, dict) else None
    return n if isinstance(n, int) and n >= 0 else 0


def summary_marker(model_turns: int) -> str:
    """The marker a scripted compaction summary ends with, so the turn count survives it."""
    return f"[responses_fast model_turns={model_turns}]"


def _marked_turns(text: str) -> int:
    found = _MARKER.findall(text)
    return int(found[-1]) if found else 0


def content_text(content: Any) -> str:
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
            text = content_text(it.get("content"))
            kind: Literal["model", "user", "tool", "trigger", "other"] = (
                "model" if role == "assistant" else "user" if role == "user" else "other"
            )
            turns = _marked_turns(text) if kind != "model" else 0
            out.append(Entry(kind, text, _key("m", role, text), turns))
        elif t in MODEL_ITEM_TYPES:
            if t == "reasoning":
                key = _key("rs", content_text(it.get("summary")), it.get("encrypted_content"))
            elif t == "custom_tool_call":
                key = _key("ct", it.get("call_id"), it.get("name"), it.get("input"))
            else:
                key = _key("fc", it.get("call_id"), it.get("name"), it.get("arguments"))
            out.append(Entry("model", "", key))
        elif t in ("function_call_output", "custom_tool_call_output"):
            text = content_text(it.get("output"))
            out.append(Entry("tool", text, _key("fo", it.get("call_id"), text)))
        elif t == "compaction_trigger":
            out.append(Entry("trigger", "", _key("ct")))
        elif t == "compaction":
            content = it.get("encrypted_content")
            out.append(Entry("other", "", _key("cp", content), _compacted_turns(content)))
        else:
            out.append(Entry("other", "", _key("x", dict(it))))
    return out


def context_from_messages(messages: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """Normalise Chat Completions messages into entries (assistant messages are model turns)."""
    out: list[Entry] = []
    for m in messages:
        role = m.get("role")
        text = content_text(m.get("content"))
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
            out.append(Entry("user", text, _key("u", text), _marked_turns(text)))
        else:
            out.append(Entry("other", text, _key(str(role), text)))
    return out


def count_model_turns(context: Sequence[Entry]) -> int:
    """Maximal runs of consecutive model entries, plus the turns compacted entries stand for.

    A compacted entry replaces everything before it that it summarises, so the count restarts
    from its number at the last one.
    """
    runs = 0
    prev = False
    for e in context:
        if e.turns:
            runs = max(runs, e.turns)  # a summary restates the count of what it replaced
        is_model = e.kind == "model"
        if is_model and not prev:
            runs += 1
        prev = is_model
    return runs


def latest_input_text(context: Sequence[Entry]) -> str:
    for e in reversed(context):
        if e.kind in ("user", "tool"):
            return e.text
    return ""
