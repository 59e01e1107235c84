"""Context budget: one test per step of the policy, plus correction and edge cases."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from responses_fast.cache.budget import (
    BudgetPolicy,
    ContextBudget,
    UsageSample,
    apply_plan,
)
from responses_fast.cache.render import LoggedItem, log_item
from responses_fast.cache.tokens import TokenCounter
from responses_fast.errors import ConfigurationError, ContextBudgetExceeded
from responses_fast.protocol.items import (
    FunctionCall,
    FunctionCallOutput,
    Message,
    OutputText,
    Reasoning,
    user_message,
)

BIG = "def handler(request):\n    return process(request)\n" * 100  # ~5 KB


def logged(item: BaseModel, tokens: int) -> LoggedItem:
    li = log_item(item)
    li.tokens = tokens
    return li


def tool_turn(n: int, out_tokens: int = 1000, *, reasoning: bool = False) -> list[LoggedItem]:
    items = []
    if reasoning:
        items.append(logged(Reasoning(id=f"rs_{n}", encrypted_content="e"), 20))
    items.append(logged(FunctionCall(call_id=f"c{n}", name="read", arguments="{}"), 10))
    items.append(logged(FunctionCallOutput(call_id=f"c{n}", output=BIG), out_tokens))
    return items


def user(text: str, tokens: int = 10) -> LoggedItem:
    return logged(user_message(text), tokens)


def assert_pairs_intact(items: list[LoggedItem]) -> None:
    calls = {i.item.call_id for i in items if isinstance(i.item, FunctionCall)}
    outs = {i.item.call_id for i in items if isinstance(i.item, FunctionCallOutput)}
    assert calls == outs


def total(items: list[LoggedItem]) -> int:
    return sum(i.tokens or 0 for i in items)


def test_no_trim_below_trigger() -> None:
    log = [user("task"), *tool_turn(1), *tool_turn(2)]
    budget = ContextBudget(10_000, reserve_output=0)
    plan = budget.plan(log, prefix_tokens=100)
    assert plan.empty
    assert plan.tokens_before == plan.tokens_after == 100 + total(log)
    result = apply_plan(log, plan)
    assert result.items == log and not result.report.requires_full_resend


def test_step1_truncates_old_tool_outputs_only() -> None:
    log = [user("task"), *tool_turn(1), *tool_turn(2), *tool_turn(3), *tool_turn(4)]
    # 4050 + 100 prefix; usable 4000 -> trigger at 3600, target 3000.
    policy = BudgetPolicy(truncate_tool_outputs_to=100, keep_recent_turns=1)
    budget = ContextBudget(4000, reserve_output=0, policy=policy)
    plan = budget.plan(log, prefix_tokens=100)
    assert not plan.drops
    truncated = [t.index for t in plan.truncations]
    assert truncated == [2, 4]  # oldest first, stops at the target; turn 4 is recent
    assert plan.tokens_after <= 3000
    counter = TokenCounter("gpt-4")
    result = apply_plan(log, plan, count=counter.count_item)
    new = result.items
    assert len(new) == len(log)
    for i in (2, 4):
        assert new[i] is not log[i]
        out = new[i].item
        assert isinstance(out, FunctionCallOutput)
        assert out.call_id == log[i].item.call_id  # type: ignore[attr-defined]
        assert "bytes omitted" in out.output
        assert json.loads(new[i].raw)["output"] == out.output  # fresh raw bytes
        assert new[i].tokens == counter.count_item(log_item(out))
    assert all(new[i] is log[i] for i in range(len(log)) if i not in (2, 4))
    assert isinstance(log[2].item, FunctionCallOutput) and log[2].item.output == BIG  # untouched
    report = result.report
    assert report.shortened_call_ids == ("c1", "c2")
    assert report.items_shortened == 2 and report.dropped_items == 0
    assert report.tokens_before == 4150 and report.tokens_after < 3000
    assert report.requires_full_resend
    assert_pairs_intact(new)


def test_step2_drops_oldest_turns_with_their_pairs_and_reasoning() -> None:
    log = [
        logged(Message(role="developer", content="be brief"), 5),
        user("task"),
        *tool_turn(1, reasoning=True),
        *tool_turn(2, reasoning=True),
        *tool_turn(3),
        *tool_turn(4),
        *tool_turn(5),
    ]
    policy = BudgetPolicy(truncate_tool_outputs_to=None, keep_recent_turns=2)
    budget = ContextBudget(5000, reserve_output=0, policy=policy)
    plan = budget.plan(log, prefix_tokens=0)
    # 5105 tokens; target 3750: drop turns 1 and 2 (1030 each).
    assert plan.dropped_turns == 2
    result = apply_plan(log, plan)
    kinds = [(type(i.item).__name__, getattr(i.item, "call_id", None)) for i in result.items]
    assert kinds == [
        ("Message", None),
        ("Message", None),
        ("FunctionCall", "c3"),
        ("FunctionCallOutput", "c3"),
        ("FunctionCall", "c4"),
        ("FunctionCallOutput", "c4"),
        ("FunctionCall", "c5"),
        ("FunctionCallOutput", "c5"),
    ]
    assert not any(isinstance(i.item, Reasoning) for i in result.items)
    assert result.report.dropped_items == 6 and result.report.dropped_turns == 2
    assert result.report.tokens_after == 5105 - 2060
    assert_pairs_intact(result.items)


def test_interleaved_parallel_outputs_stay_with_their_calls() -> None:
    log = [
        user("task"),
        logged(FunctionCall(call_id="a", name="f", arguments="{}"), 10),
        logged(FunctionCall(call_id="b", name="f", arguments="{}"), 10),
        logged(FunctionCallOutput(call_id="b", output="x"), 500),
        logged(Message(role="assistant", content=[OutputText(text="while waiting")]), 10),
        logged(FunctionCallOutput(call_id="a", output="y"), 500),
        *tool_turn(9, 100),
    ]
    policy = BudgetPolicy(truncate_tool_outputs_to=None, keep_recent_turns=1)
    plan = ContextBudget(1200, reserve_output=0, policy=policy).plan(log, 0)
    result = apply_plan(log, plan)
    assert_pairs_intact(result.items)
    assert {getattr(i.item, "call_id", None) for i in result.items} == {None, "c9"}


def test_keeps_first_and_latest_user_message() -> None:
    log = [
        user("the task", 50),
        *tool_turn(1),
        user("old follow-up", 50),
        *tool_turn(2),
        user("latest question", 50),
        *tool_turn(3),
        *tool_turn(4),
    ]
    policy = BudgetPolicy(truncate_tool_outputs_to=None, keep_recent_turns=1)
    plan = ContextBudget(2500, reserve_output=0, policy=policy).plan(log, 0)
    result = apply_plan(log, plan)
    texts = [i.item for i in result.items if isinstance(i.item, Message)]
    assert [t.content[0].text for t in texts] == ["the task", "latest question"]  # type: ignore[union-attr]
    assert result.items[-2:] == log[-2:]
    assert_pairs_intact(result.items)
    # Turn 3, after the latest user message, may go by default...
    assert not any(getattr(i.item, "call_id", None) == "c3" for i in result.items)
    # ...but not with protect_since_last_user.
    strict = BudgetPolicy(
        truncate_tool_outputs_to=None, keep_recent_turns=1, protect_since_last_user=True
    )
    kept = apply_plan(log, ContextBudget(3000, reserve_output=0, policy=strict).plan(log, 0))
    assert kept.items[-5:] == log[-5:]
    # And the first user message can be released.
    loose = BudgetPolicy(
        truncate_tool_outputs_to=None, keep_recent_turns=1, keep_first_user_message=False
    )
    res = apply_plan(log, ContextBudget(2500, reserve_output=0, policy=loose).plan(log, 0))
    first = res.items[0].item
    assert isinstance(first, Message) and first.content[0].text == "latest question"  # type: ignore[union-attr]


def test_raises_when_it_cannot_fit() -> None:
    log = [user("task"), *tool_turn(1), user("huge paste", 5000)]
    budget = ContextBudget(4000, reserve_output=500)
    with pytest.raises(ContextBudgetExceeded, match="3500 available"):
        budget.plan(log, prefix_tokens=100)
    no_drop = ContextBudget(
        2000,
        reserve_output=0,
        policy=BudgetPolicy(drop_oldest=False, truncate_tool_outputs_to=None),
    )
    with pytest.raises(ContextBudgetExceeded):
        no_drop.plan([user("task"), *tool_turn(1, 2500)], prefix_tokens=0)


def test_correction_by_server_usage_scale() -> None:
    log = [user("task"), *tool_turn(1), *tool_turn(2), *tool_turn(3)]
    budget = ContextBudget(4000, reserve_output=0, policy=BudgetPolicy(keep_recent_turns=1))
    assert budget.plan(log, 100).empty  # 3140 local, under the 3600 trigger
    # The server counted 20% more than we did for the last request.
    budget.observe_usage(local_tokens=3000, input_tokens=3600)
    assert budget.estimate(log, 100) == 3768
    plan = budget.plan(log, 100)
    assert not plan.empty and plan.tokens_before == 3768
    assert plan.tokens_after <= 3000
    # usage= overrides the observed sample; a wild ratio is clamped to [0.25, 4].
    assert budget.correct(1000, UsageSample(100, 10_000)) == 4000
    assert budget.correct(1000, UsageSample(1000, 1000)) == 1000


def test_correction_by_server_usage_offset() -> None:
    budget = ContextBudget(4000, reserve_output=0, policy=BudgetPolicy(correction="offset"))
    budget.observe_usage(3000, 3500)
    assert budget.correct(1000) == 1500
    none = ContextBudget(4000, policy=BudgetPolicy(correction="none"))
    none.observe_usage(3000, 3500)
    assert none.correct(1000) == 1000
    none.observe_usage(0, 10)  # ignored: no information
    assert none.last_usage == UsageSample(3000, 3500)


def test_tokens_required_or_counted() -> None:
    log = [log_item(user_message("no count yet"))]
    budget = ContextBudget(1000)
    with pytest.raises(ValueError, match="item 0 has no token count"):
        budget.plan(log, 0)
    counter = TokenCounter("gpt-4")
    assert budget.plan(log, 0, count=counter.count_item).empty
    assert log[0].tokens is not None


def test_plan_must_match_items() -> None:
    log = [user("task")]
    plan = ContextBudget(1000).plan(log, 0)
    with pytest.raises(ValueError, match="plan was made for 1 items"):
        apply_plan([*log, user("more")], plan)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trigger_ratio": 0.5, "target_ratio": 0.8},
        {"trigger_ratio": 1.5},
        {"truncate_tool_outputs_to": 3},
        {"keep_recent_turns": -1},
        {"correction": "magic"},
    ],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        BudgetPolicy(**kwargs)  # type: ignore[arg-type]


def test_budget_validation_and_defaults() -> None:
    with pytest.raises(ConfigurationError):
        ContextBudget(0)
    with pytest.raises(ConfigurationError):
        ContextBudget(1000, reserve_output=1000)
    assert ContextBudget(400_000).reserve_output == 32_768
    assert ContextBudget(8_000).usable == 7_000
