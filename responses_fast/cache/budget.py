"""The context budget: plan, before each request, what to shorten or drop so it fits the window.

Pure: items and token counts in, a :class:`TrimPlan` out; :func:`apply_plan` turns a plan into a
new item list and a :class:`TrimReport` that the session emits as an event. No clock, no I/O.

The policy (:class:`BudgetPolicy`), step by step:

0. **Estimate.** ``local = prefix_tokens + sum(item.tokens)``, then corrected by the server's last
   reported ``usage.input_tokens`` (see *Correction*). Usable space is ``window -
   reserve_output``. Nothing happens while ``estimate <= trigger_ratio * usable``. Once triggered,
   the steps below run, oldest first, until ``estimate <= target_ratio * usable`` (the gap between
   trigger and target means the log is not trimmed again on the very next turn, which would also
   defeat the provider's prompt cache every turn).
1. **Shorten old tool outputs.** ``function_call_output`` items (and any ``*_output`` item with a
   string output) outside the last ``keep_recent_turns`` turns, longer than
   ``truncate_tool_outputs_to`` tokens, are cut to head + tail around a marker giving the number
   of bytes omitted (``render.truncate_output``). The ``call_id`` is kept, so the call/output
   pair stays valid.
2. **Drop the oldest turns** (if ``drop_oldest``). A *turn* here is one model step: the items of
   one response (reasoning, assistant messages, function calls) together with the outputs of its
   calls, wherever those outputs sit in the log. A call and its output are therefore dropped
   together, never split, and reasoning goes with its turn. A user message is a unit of its own.
   Never dropped: system/developer messages (instructions in the log), the **first user message**
   (the task in an agent loop; ``keep_first_user_message``), the **latest user message**, and the
   last ``keep_recent_turns`` turns. With ``protect_since_last_user=True`` nothing after the latest
   user message is dropped either; by default it may be, because in an agent loop one user prompt
   is followed by hundreds of tool turns and protecting them all would leave nothing to drop.
3. If the estimate still exceeds ``usable``, :class:`~responses_fast.errors.ContextBudgetExceeded`.

*Correction.* Local counts can differ from the provider's (another encoding offline, the way
tools and roles are rendered). After each response the session reports the pair (local estimate
it sent, ``usage.input_tokens``) with :meth:`ContextBudget.observe_usage`. With ``correction=
"scale"`` (default) later estimates are multiplied by ``input_tokens / local`` (clamped to
[0.25, 4]); it fits an encoding mismatch, which is proportional. ``"offset"`` adds ``input_tokens
- local`` instead, which fits a constant difference (tool schemas); ``"none"`` ignores usage.

After a trim the conversation no longer matches what the server holds for a
``previous_response_id``: send the whole (new) log on the next request (``TrimReport.
requires_full_resend``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from responses_fast.cache.render import LoggedItem, log_item, truncate_output
from responses_fast.errors import ConfigurationError, ContextBudgetExceeded
from responses_fast.protocol.items import Message

__all__ = [
    "BudgetPolicy",
    "ContextBudget",
    "TrimPlan",
    "TrimReport",
    "TrimResult",
    "Truncation",
    "UsageSample",
    "apply_plan",
]

#: Tokens added by the truncation marker and cut-point slack, used in estimates.
_MARKER_TOKENS = 16
_BYTES_PER_TOKEN = 4
_SCALE_BOUNDS = (0.25, 4.0)


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """How the context is kept within the window. See the module docstring for the steps."""

    #: Start trimming when the estimate exceeds this fraction of the usable window.
    trigger_ratio: float = 0.9
    #: Once trimming, go down to this fraction (hysteresis: no trim on every turn).
    target_ratio: float = 0.75
    #: Step 1: old tool outputs longer than this many tokens are cut to about this many
    #: (``4 * tokens`` bytes, head + tail). None disables step 1.
    truncate_tool_outputs_to: int | None = 256
    #: The most recent model turns that are never shortened nor dropped.
    keep_recent_turns: int = 4
    #: Step 2 on/off.
    drop_oldest: bool = True
    #: Keep the first user message (the task) when dropping.
    keep_first_user_message: bool = True
    #: Never drop anything after the latest user message.
    protect_since_last_user: bool = False
    #: How the server's reported usage corrects local counts.
    correction: Literal["scale", "offset", "none"] = "scale"

    def __post_init__(self) -> None:
        if not 0.0 < self.target_ratio <= self.trigger_ratio <= 1.0:
            raise ConfigurationError(
                "BudgetPolicy needs 0 < target_ratio <= trigger_ratio <= 1, got "
                f"target_ratio={self.target_ratio}, trigger_ratio={self.trigger_ratio}"
            )
        if self.truncate_tool_outputs_to is not None and self.truncate_tool_outputs_to < 16:
            raise ConfigurationError("truncate_tool_outputs_to must be >= 16 tokens or None")
        if self.keep_recent_turns < 0:
            raise ConfigurationError("keep_recent_turns must be >= 0")
        if self.correction not in ("scale", "offset", "none"):
            raise ConfigurationError(f"unknown correction {self.correction!r}")


@dataclass(frozen=True, slots=True)
class UsageSample:
    """What was sent (local estimate, prefix included) and what the server counted for it."""

    local_tokens: int
    input_tokens: int


@dataclass(frozen=True, slots=True)
class Truncation:
    """Shorten the output of ``items[index]`` to about ``max_bytes`` bytes."""

    index: int
    call_id: str
    max_bytes: int
    tokens_before: int
    tokens_after_estimate: int


@dataclass(frozen=True, slots=True)
class TrimPlan:
    """What to do to the log before the next request. Empty when nothing is needed.

    Token figures are corrected estimates (see :class:`ContextBudget`); ``local_*`` are raw local
    counts, prefix included.
    """

    n_items: int
    truncations: tuple[Truncation, ...] = ()
    drops: frozenset[int] = frozenset()
    dropped_turns: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    local_before: int = 0
    local_after: int = 0
    limit: int = 0

    @property
    def empty(self) -> bool:
        return not self.truncations and not self.drops


@dataclass(frozen=True, slots=True)
class TrimReport:
    """What a trim did; the session emits it as an event."""

    tokens_before: int
    tokens_after: int
    limit: int
    shortened_call_ids: tuple[str, ...]
    dropped_items: int
    dropped_turns: int
    requires_full_resend: bool = True

    @property
    def items_shortened(self) -> int:
        return len(self.shortened_call_ids)


@dataclass(frozen=True, slots=True)
class TrimResult:
    items: list[LoggedItem]
    report: TrimReport


@dataclass(slots=True)
class _Unit:
    kind: Literal["pinned", "user", "step"]
    indices: list[int] = field(default_factory=list)


def _is_output(item: object) -> bool:
    t = getattr(item, "type", None)
    return isinstance(t, str) and t.endswith("_output")


def _units(items: Sequence[LoggedItem]) -> list[_Unit]:
    """Group the log into user messages, pinned messages and model turns (calls + outputs)."""
    units: list[_Unit] = []
    by_call: dict[str, _Unit] = {}
    cur: _Unit | None = None
    cur_has_output = False
    for i, logged in enumerate(items):
        m = logged.item
        if isinstance(m, Message) and m.role != "assistant":
            units.append(_Unit("user" if m.role == "user" else "pinned", [i]))
            cur = None
            continue
        call_id = getattr(m, "call_id", None)
        if _is_output(m):
            unit = by_call.get(call_id) if isinstance(call_id, str) else None
            if unit is None:  # an output without its call: keep it with the current turn
                if cur is None:
                    cur = _Unit("step")
                    units.append(cur)
                unit = cur
            unit.indices.append(i)
            if unit is cur:
                cur_has_output = True
            continue
        if cur is None or cur_has_output:  # a model item after outputs: the next response
            cur = _Unit("step")
            units.append(cur)
            cur_has_output = False
        cur.indices.append(i)
        if isinstance(call_id, str):
            by_call[call_id] = cur
    return units


class ContextBudget:
    """Plans trims so each request fits ``window`` tokens, leaving ``reserve_output`` for output.

    ``reserve_output`` defaults to ``min(window // 8, 32_768)``.
    """

    def __init__(
        self,
        window: int,
        *,
        reserve_output: int | None = None,
        policy: BudgetPolicy | None = None,
    ) -> None:
        if window <= 0:
            raise ConfigurationError(f"window must be > 0, got {window}")
        if reserve_output is None:
            reserve_output = min(window // 8, 32_768)
        if not 0 <= reserve_output < window:
            raise ConfigurationError(f"reserve_output must be in [0, window), got {reserve_output}")
        self.window = window
        self.reserve_output = reserve_output
        self.policy = policy if policy is not None else BudgetPolicy()
        self.last_usage: UsageSample | None = None

    @property
    def usable(self) -> int:
        """Tokens available to the input: ``window - reserve_output``."""
        return self.window - self.reserve_output

    def observe_usage(self, local_tokens: int, input_tokens: int) -> None:
        """Record the server's ``usage.input_tokens`` for a request whose local estimate
        (``TrimPlan.local_after`` of that request) was ``local_tokens``."""
        if local_tokens > 0 and input_tokens > 0:
            self.last_usage = UsageSample(local_tokens, input_tokens)

    def correct(self, local: int, usage: UsageSample | None = None) -> int:
        """The corrected estimate for a local count (see the module docstring)."""
        sample = usage if usage is not None else self.last_usage
        mode = self.policy.correction
        if sample is None or mode == "none":
            return local
        if mode == "offset":
            return max(0, local + sample.input_tokens - sample.local_tokens)
        lo, hi = _SCALE_BOUNDS
        ratio = min(hi, max(lo, sample.input_tokens / sample.local_tokens))
        return math.ceil(local * ratio)

    def estimate(
        self,
        items: Sequence[LoggedItem],
        prefix_tokens: int,
        *,
        count: Callable[[LoggedItem], int] | None = None,
        usage: UsageSample | None = None,
    ) -> int:
        """Corrected tokens of the next request (prefix + all items)."""
        return self.correct(prefix_tokens + sum(_tokens(items, count)), usage)

    def plan(
        self,
        items: Sequence[LoggedItem],
        prefix_tokens: int,
        *,
        count: Callable[[LoggedItem], int] | None = None,
        usage: UsageSample | None = None,
    ) -> TrimPlan:
        """Plan the trims the policy needs so the next request fits.

        Every item needs a token count: set (``LoggedItem.tokens``) or obtainable with ``count``
        (e.g. ``counter.count_item``). ``usage`` overrides the sample from :meth:`observe_usage`.
        Raises ContextBudgetExceeded when even the full policy cannot make it fit.
        """
        toks = _tokens(items, count)
        local = prefix_tokens + sum(toks)
        before = self.correct(local, usage)
        usable = self.usable
        base = TrimPlan(
            n_items=len(items),
            tokens_before=before,
            tokens_after=before,
            local_before=local,
            local_after=local,
            limit=usable,
        )
        policy = self.policy
        if before <= policy.trigger_ratio * usable:
            return base
        target = policy.target_ratio * usable

        units = _units(items)
        steps = [u for u in units if u.kind == "step"]
        recent = {id(u) for u in steps[len(steps) - policy.keep_recent_turns :]}
        if policy.keep_recent_turns == 0:
            recent = set()
        toks = list(toks)
        truncations: list[Truncation] = []

        # Step 1: shorten old tool outputs, oldest first.
        limit_tokens = policy.truncate_tool_outputs_to
        if limit_tokens is not None:
            max_bytes = limit_tokens * _BYTES_PER_TOKEN
            order = sorted(
                i for u in units if u.kind == "step" and id(u) not in recent for i in u.indices
            )
            for i in order:
                if self.correct(local, usage) <= target:
                    break
                m = items[i].item
                out = getattr(m, "output", None)
                if not _is_output(m) or not isinstance(out, str):
                    continue
                if toks[i] <= limit_tokens + _MARKER_TOKENS:
                    continue
                size = len(out.encode("utf-8", "replace"))
                if size <= max_bytes:
                    continue
                after = min(toks[i], math.ceil(toks[i] * max_bytes / size) + _MARKER_TOKENS)
                truncations.append(
                    Truncation(i, str(getattr(m, "call_id", "")), max_bytes, toks[i], after)
                )
                local -= toks[i] - after
                toks[i] = after

        # Step 2: drop the oldest turns, calls and outputs together.
        drops: set[int] = set()
        dropped_turns = 0
        if policy.drop_oldest and self.correct(local, usage) > target:
            users = [u for u in units if u.kind == "user"]
            protected = {id(u) for u in units if u.kind == "pinned"} | recent
            if users:
                protected.add(id(users[-1]))
                if policy.keep_first_user_message:
                    protected.add(id(users[0]))
                if policy.protect_since_last_user:
                    last = units.index(users[-1])
                    protected |= {id(u) for u in units[last:]}
            for u in units:
                if self.correct(local, usage) <= target:
                    break
                if id(u) in protected:
                    continue
                drops.update(u.indices)
                local -= sum(toks[i] for i in u.indices)
                dropped_turns += u.kind == "step"

        after = self.correct(local, usage)
        if after > usable:
            raise ContextBudgetExceeded(
                f"the conversation needs about {after} tokens after trimming, over the "
                f"{usable} available ({self.window} window - {self.reserve_output} reserved "
                "for output)"
            )
        dropped_truncs = tuple(t for t in truncations if t.index not in drops)
        return TrimPlan(
            n_items=len(items),
            truncations=dropped_truncs,
            drops=frozenset(drops),
            dropped_turns=dropped_turns,
            tokens_before=before,
            tokens_after=after,
            local_before=base.local_before,
            local_after=local,
            limit=usable,
        )


def _tokens(items: Sequence[LoggedItem], count: Callable[[LoggedItem], int] | None) -> list[int]:
    out: list[int] = []
    for i, it in enumerate(items):
        n = it.tokens
        if n is None:
            if count is None:
                raise ValueError(
                    f"item {i} has no token count; pass count=counter.count_item to plan()"
                )
            n = count(it)
        out.append(n)
    return out


def apply_plan(
    items: Sequence[LoggedItem],
    plan: TrimPlan,
    *,
    count: Callable[[LoggedItem], int] | None = None,
) -> TrimResult:
    """Carry out ``plan`` on ``items`` (the list it was made for); the input is not modified.

    Shortened outputs become new LoggedItems with fresh ``raw`` bytes; their ``tokens`` are
    counted with ``count`` when given, else set to the plan's estimate.
    """
    if len(items) != plan.n_items:
        raise ValueError(f"plan was made for {plan.n_items} items, got {len(items)}")
    replaced: dict[int, LoggedItem] = {}
    local_after = plan.local_after
    for t in plan.truncations:
        old = items[t.index]
        output = getattr(old.item, "output", None)
        if not isinstance(output, str):
            raise ValueError(f"item {t.index} has no string output to shorten")
        new_item = old.item.model_copy(update={"output": truncate_output(output, t.max_bytes)})
        new = log_item(new_item, index=t.index)
        if count is not None:
            new.tokens = count(new)
            local_after += new.tokens - t.tokens_after_estimate
        else:
            new.tokens = t.tokens_after_estimate
        replaced[t.index] = new
    new_items = [replaced.get(i, it) for i, it in enumerate(items) if i not in plan.drops]
    tokens_after = plan.tokens_after
    if plan.local_after:
        tokens_after = round(plan.tokens_after * local_after / plan.local_after)
    report = TrimReport(
        tokens_before=plan.tokens_before,
        tokens_after=tokens_after,
        limit=plan.limit,
        shortened_call_ids=tuple(t.call_id for t in plan.truncations),
        dropped_items=len(plan.drops),
        dropped_turns=plan.dropped_turns,
        requires_full_resend=not plan.empty,
    )
    return TrimResult(new_items, report)
