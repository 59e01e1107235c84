"""What WebSocket and HTTP share: configuration, process-wide state, and request -> plan.

:func:`prepare` validates a ``response.create`` body, rebuilds the full context from the
``previous_response_id`` chain, picks the model's turn and returns everything an endpoint needs to
stream it. Failures are :class:`ApiFailure` (status, code, message, param), which each endpoint
renders in its own dialect.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from responses_fast.protocol.client_events import ResponseCreate

from .faults import Fault, FaultBook
from .limits import LimitError, apply_limits
from .scripted import (
    DEFAULT_TOKENS_PER_SECOND,
    DEFAULT_TTFT,
    Entry,
    Script,
    TurnPlan,
    context_from_items,
    echo_plan,
    estimate_tokens,
    is_compaction_request,
    output_items,
    output_token_counts,
    plan_turn,
    usage_object,
)
from .stats import StatsRecorder

__all__ = [
    "ApiFailure",
    "PrefixCache",
    "Prepared",
    "ServerConfig",
    "ServerState",
    "StoredResponse",
    "input_token_keys",
    "load_context",
    "prepare",
]


class ApiFailure(Exception):
    """A request-level error, rendered by each endpoint in its own shape."""

    def __init__(
        self, status: int, code: str, message: str, *, param: str | None = None,
        type: str | None = None, headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.type = type or ("server_error" if status >= 500 else "invalid_request_error")
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    @classmethod
    def from_fault(cls, fault: Fault) -> ApiFailure:
        code, etype, msg = fault.error_fields()
        return cls(fault.status, code, msg, type=etype, headers=fault.headers())


class PrefixCache:
    """Emulated prompt caching: the longest already-seen prefix of entries counts as cached.

    Keys are running hashes of the canonical entries, bounded LRU. Pure and in memory.
    """

    __slots__ = ("_max", "_seen")

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._max = max_entries

    def lookup_and_add(self, keys: Sequence[str]) -> int:
        """Tokens of the longest known prefix of ``keys``; then remember every prefix."""
        cached = 0
        running = 0
        total = 0
        missed = False
        for k in keys:
            running = hash((running, k))
            total += estimate_tokens(k)
            if not missed and running in self._seen:
                cached = total
                self._seen.move_to_end(running)
            else:
                missed = True
                self._seen[running] = None
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return cached


@dataclass
class ServerConfig:
    tokens_per_second: float | None = DEFAULT_TOKENS_PER_SECOND
    ttft: float = DEFAULT_TTFT
    api_key: str | None = None
    max_connection_age: float = 3600.0
    max_message_size: int = 16 * 1024 * 1024
    cerebras_quirk: bool = False
    connection_cache_size: int = 256
    #: Serve every model name: names other than scripted/echo play the default script (or
    #: echo while it is empty), so code written for a real model runs unchanged (docs tests).
    any_model: bool = False


@dataclass(slots=True)
class StoredResponse:
    """A finished response and how to rebuild its context: parent chain + own input."""

    id: str
    parent: StoredResponse | None
    input: list[dict[str, Any]]
    output: list[dict[str, Any]]
    response: dict[str, Any]

    def full_context(self) -> list[dict[str, Any]]:
        """Every item up to and including this response's output."""
        chain: list[StoredResponse] = []
        node: StoredResponse | None = self
        while node is not None:
            chain.append(node)
            node = node.parent
        items: list[dict[str, Any]] = []
        for n in reversed(chain):
            items.extend(n.input)
            items.extend(n.output)
        return items


@dataclass
class ServerState:
    """Process-wide state shared by every endpoint and connection."""

    config: ServerConfig = field(default_factory=ServerConfig)
    script: Script = field(default_factory=lambda: Script(()))
    scripts: dict[str, Script] = field(default_factory=dict)
    store: OrderedDict[str, StoredResponse] = field(default_factory=OrderedDict)
    store_limit: int = 10_000
    faults: FaultBook = field(default_factory=FaultBook)
    prefix_cache: PrefixCache = field(default_factory=PrefixCache)
    stats: StatsRecorder = field(default_factory=StatsRecorder)
    # requests answered per (script, conversation key), for scripts with select "requests"
    conversations: dict[tuple[int, str], int] = field(default_factory=dict)

    def conversation_turn(self, script: Script, key: str, context: list[Entry]) -> int:
        """How many requests of this conversation the script answered before; counts this one.

        Compaction requests are not counted (they do not advance the script).
        """
        if script.select != "requests":
            return 0
        slot = (id(script), key)
        n = self.conversations.get(slot, 0)
        if not is_compaction_request(script, context):
            self.conversations[slot] = n + 1
            if len(self.conversations) > self.store_limit:  # bounded: forget the oldest
                self.conversations.pop(next(iter(self.conversations)))
        return n

    def resolve_script(self, model: str) -> Script | None:
        if model == "scripted":
            return self.script
        if model.startswith("scripted:"):
            return self.scripts.get(model.split(":", 1)[1])
        if self.config.any_model and model != "echo" and self.script.turns:
            return self.script
        return None

    def echoes(self, model: str) -> bool:
        """Whether a model name without a script is served by the echo model."""
        return model == "echo" or (self.config.any_model and not model.startswith("scripted"))

    def pacing(self, script: Script | None) -> tuple[float | None, float]:
        tps = self.config.tokens_per_second
        ttft = self.config.ttft
        if script is not None:
            if script.pacing_set:
                tps = script.tokens_per_second
            if script.ttft is not None:
                ttft = script.ttft
        return (tps or None), ttft

    def save(self, stored: StoredResponse) -> None:
        self.store[stored.id] = stored
        while len(self.store) > self.store_limit:
            self.store.popitem(last=False)


@dataclass(slots=True)
class Prepared:
    response_id: str
    plan: TurnPlan
    skeleton: dict[str, Any]
    usage: dict[str, Any]
    input: list[dict[str, Any]]
    output: list[dict[str, Any]]
    parent: StoredResponse | None
    context_items: int
    fault: Fault | None
    tokens_per_second: float | None
    ttft: float
    store: bool
    generate: bool

    @property
    def status(self) -> str:
        return "incomplete" if self.plan.incomplete else "completed"

    def final(self) -> dict[str, Any]:
        """The finished Response object."""
        details = {"reason": self.plan.incomplete} if self.plan.incomplete else None
        return {**self.skeleton, "status": self.status, "output": self.output,
                "usage": self.usage, "incomplete_details": details}

    def stored(self) -> StoredResponse:
        final = self.final()
        return StoredResponse(self.response_id, self.parent, self.input, self.output, final)


def new_response_id() -> str:
    return "resp_" + secrets.token_hex(12)


def _input_items(create: ResponseCreate) -> list[dict[str, Any]]:
    if create.input is None:
        return []
    if isinstance(create.input, str):
        return [{"type": "message", "role": "user", "content": create.input}]
    return [it.model_dump(mode="json", exclude_unset=True) for it in create.input]


def load_context(
    create: ResponseCreate, lookup: Callable[[str], StoredResponse | None],
) -> tuple[StoredResponse | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """(parent, the request's own items, the full context); raises previous_response_not_found."""
    parent: StoredResponse | None = None
    if create.previous_response_id is not None:
        parent = lookup(create.previous_response_id)
        if parent is None:
            raise ApiFailure(
                400, "previous_response_not_found",
                f"Previous response with id '{create.previous_response_id}' not found.",
                param="previous_response_id",
            )
    new_items = _input_items(create)
    return parent, new_items, (parent.full_context() if parent else []) + new_items


def input_token_keys(create: ResponseCreate, context: list[Entry]) -> list[str]:
    """The canonical pieces the prompt is made of (instructions and tools, then each entry)."""
    prefix = orjson.dumps([create.instructions, create.tools]).decode()
    return [prefix, *(e.key for e in context)]


def prepare(
    state: ServerState,
    create: ResponseCreate,
    lookup: Callable[[str], StoredResponse | None],
) -> Prepared:
    """Validate a create, rebuild its context and plan the turn (raises ApiFailure)."""
    if create.background:
        raise ApiFailure(400, "unsupported_parameter",
                         "background mode is not supported by this server.", param="background")
    model = create.model
    if not model:
        raise ApiFailure(400, "missing_required_parameter", "Missing required parameter: 'model'.",
                         param="model")
    script = state.resolve_script(model)
    if script is None and not state.echoes(model):
        raise ApiFailure(404, "model_not_found",
                         f"The model '{model}' does not exist or you do not have access to it.",
                         param="model")
    parent, new_items, context_dicts = load_context(create, lookup)
    context: list[Entry] = context_from_items(context_dicts)
    generate = create.generate is not False
    if not generate:
        plan = TurnPlan(0, ())
        fault = None
    elif script is None:
        plan = echo_plan(context)
        fault = None
    else:
        n = state.conversation_turn(script, create.prompt_cache_key or "", context)
        plan = plan_turn(script, context, n)
        fault = state.faults.take(id(script), plan.turn_index, plan.fault)
    if generate:
        try:
            plan = apply_limits(plan, max_output_tokens=create.max_output_tokens,
                                tool_choice=create.tool_choice,
                                parallel_tool_calls=create.parallel_tool_calls,
                                tools=create.tools)
        except LimitError as exc:
            raise ApiFailure(400, "invalid_request_error", str(exc), param=exc.param) from None
    output = output_items(plan)
    keys = input_token_keys(create, context)
    out_keys = [e.key for e in context_from_items(output)]
    input_tokens = sum(estimate_tokens(k) for k in keys)
    cached = state.prefix_cache.lookup_and_add(keys)
    state.prefix_cache.lookup_and_add(keys + out_keys)  # the continuation's prefix
    out_tokens, reasoning_tokens = output_token_counts(plan)
    usage = usage_object(input_tokens, cached, out_tokens, reasoning_tokens, plan.tokens)
    rid = new_response_id()
    store = create.store is not False
    extra = create.model_extra or {}
    skeleton: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "model": model,
        "output": [],
        "parallel_tool_calls": (
            create.parallel_tool_calls if create.parallel_tool_calls is not None else True
        ),
        "tool_choice": create.tool_choice if create.tool_choice is not None else "auto",
        "tools": create.tools or [],
        "store": store,
        "previous_response_id": create.previous_response_id,
        "instructions": create.instructions,
        "metadata": create.metadata or {},
        "error": None,
        "incomplete_details": None,
        "text": extra.get("text") or {"format": {"type": "text"}},
        "truncation": extra.get("truncation") or "disabled",
        "temperature": extra.get("temperature", 1.0),
        "top_p": extra.get("top_p", 1.0),
        "max_output_tokens": create.max_output_tokens,
        "prompt_cache_key": create.prompt_cache_key,
        "reasoning": extra.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default",
        "background": False,
    }
    tps, ttft = state.pacing(script)
    return Prepared(
        response_id=rid, plan=plan, skeleton=skeleton, usage=usage, input=new_items,
        output=output, parent=parent, context_items=len(context_dicts), fault=fault,
        tokens_per_second=tps, ttft=ttft, store=store, generate=generate,
    )
