"""The scripted model is pure: schedules are checked without sockets or clocks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from responses_fast.server.chat import chat_chunks
from responses_fast.server.engine import PrefixCache
from responses_fast.server.faults import FaultBook, parse_fault
from responses_fast.server.scripted import (
    END_TEXT,
    context_from_items,
    context_from_messages,
    count_model_turns,
    parse_script,
    plan_turn,
    response_schedule,
    split_tokens,
    usage_object,
)

SKELETON: dict[str, Any] = {"id": "resp_1", "object": "response", "model": "scripted"}
USAGE = usage_object(10, 0, 5, 0)


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_split_tokens() -> None:
    assert split_tokens("") == []
    assert split_tokens("abcd") == ["abcd"]
    assert split_tokens("abcdefghi") == ["abcd", "efgh", "i"]


@given(st.text())
def test_split_tokens_round_trips(text: str) -> None:
    pieces = split_tokens(text)
    assert "".join(pieces) == text
    assert all(1 <= len(p) <= 4 for p in pieces)


def test_turn_index_counts_runs_of_model_items() -> None:
    ctx = context_from_items([
        user("go"),
        {"type": "reasoning", "id": "rs", "summary": []},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "x"},
        {"type": "function_call_output", "call_id": "c2", "output": "y"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text",
                                                             "text": "done"}]},
        user("more"),
    ])
    assert count_model_turns(ctx) == 2
    msgs = context_from_messages([
        {"role": "system", "content": "s"}, {"role": "user", "content": "u"},
        {"role": "assistant", "tool_calls": []}, {"role": "tool", "content": "t"},
        {"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"},
    ])
    assert count_model_turns(msgs) == 2


def test_plan_selects_turn_alternative_and_end() -> None:
    script = parse_script({"turns": [
        ["first"],
        {"alternatives": [{"match": "ERROR", "output": ["fix it"]}, {"output": ["fine"]}],
         "tokens": {"input_tokens": 7}},
    ]})
    assert plan_turn(script, context_from_items([user("hi")])).items[0].text == "first"
    ctx = [user("hi"), {"type": "message", "role": "assistant", "content": "first"}]
    plan = plan_turn(script, context_from_items([*ctx, user("got an ERROR here")]))
    assert (plan.turn_index, plan.items[0].text) == (1, "fix it")
    assert plan.tokens == {"input_tokens": 7}
    assert plan_turn(script, context_from_items([*ctx, user("ok")])).items[0].text == "fine"
    more = [*ctx, user("x"), {"role": "assistant", "content": "y"}, user("z")]
    assert plan_turn(script, context_from_items(more)).items[0].text == END_TEXT


def test_call_ids_and_arguments() -> None:
    script = parse_script([[{"type": "function_call", "name": "f", "arguments": {"a": 1}},
                            {"type": "function_call", "name": "g", "arguments": "{}",
                             "call_id": "mine"}]])
    events = response_schedule(plan_turn(script, []), SKELETON, USAGE, None, 0)
    done = events[-1][1]["response"]["output"]
    assert [(o["id"], o["call_id"], o["arguments"]) for o in done] == [
        ("fc_0_0", "call_0_0", '{"a":1}'), ("fc_0_1", "mine", "{}")]


def test_schedule_order_and_pacing_offsets() -> None:
    script = parse_script([[{"type": "reasoning", "text": "hmm"}, "abcdefgh"]])
    events = response_schedule(plan_turn(script, []), SKELETON, USAGE, 10.0, 0.5)
    types = [e["type"] for _, e in events]
    assert types == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    assert [e["sequence_number"] for _, e in events] == list(range(len(events)))
    offsets = [t for t, _ in events]
    assert offsets == sorted(offsets)
    deltas = [t for t, e in events if e["type"].endswith(".delta")]
    assert deltas == pytest.approx([0.5, 0.6, 0.7])  # ttft + k / rate
    assert offsets[0] == 0.0
    unpaced = response_schedule(plan_turn(script, []), SKELETON, USAGE, None, 0.0)
    assert {t for t, _ in unpaced} == {0.0}


def test_script_validation() -> None:
    with pytest.raises(ValueError):
        parse_script([[{"type": "bogus"}]])
    with pytest.raises(ValueError):
        parse_script({"turns": [], "speed": 3})
    with pytest.raises(ValueError):
        parse_script([{"output": [], "fault": {"kind": "explode"}}])
    assert parse_script({"tokens_per_second": 0, "turns": []}).pacing_set


def test_fault_book_counts_times() -> None:
    fault = parse_fault({"kind": "close", "times": 2})
    book = FaultBook()
    assert [book.take(1, 0, fault) is not None for _ in range(3)] == [True, True, False]
    assert book.take(1, 1, fault) is not None


def test_prefix_cache() -> None:
    cache = PrefixCache()
    assert cache.lookup_and_add(["aaaa", "bbbb"]) == 0
    assert cache.lookup_and_add(["aaaa", "bbbb", "cccc"]) == 2
    assert cache.lookup_and_add(["zzzz", "bbbb"]) == 0


def test_chat_chunks_and_quirk() -> None:
    script = parse_script([[{"type": "function_call", "name": "f", "arguments": "{\"a\":1}"}]])
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "scripted", "system_fingerprint": "fp"}
    plan = plan_turn(script, [])
    chunks = [c for _, c in chat_chunks(plan, base, {}, None, 0, include_usage=False,
                                        quirk=True)]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    frags = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks
             if "tool_calls" in c["choices"][0]["delta"]]
    assert frags[0]["id"] == "call_0_0" and frags[0]["function"]["arguments"] == ""
    assert "id" not in frags[1]
    assert frags[-1]["function"]["arguments"] == '{"a":1}'  # the aggregated re-send
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert "usage" in chunks[-1] and "time_info" in chunks[-1]
    with_usage = [c for _, c in chat_chunks(plan, base, {}, None, 0, include_usage=True,
                                            quirk=False)]
    assert with_usage[-1]["choices"] == [] and "usage" in with_usage[-1]


@pytest.mark.anyio
async def test_any_model_serves_every_name_with_the_script_or_echo() -> None:
    import openai

    from responses_fast.server import serve

    async with serve(tokens_per_second=None, any_model=True) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        echoed = await client.responses.create(model="gpt-5.5", input="say this back")
        assert echoed.output_text == "say this back"
        server.set_script([["scripted answer"]])
        scripted = await client.responses.create(model="gpt-5.5", input="hello")
        assert scripted.output_text == "scripted answer"
        with pytest.raises(openai.NotFoundError):
            await client.responses.create(model="scripted:missing", input="hi")
        await client.close()
    async with serve(tokens_per_second=None) as server:  # the default still refuses
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        with pytest.raises(openai.NotFoundError):
            await client.responses.create(model="gpt-5.5", input="hi")
        await client.close()
