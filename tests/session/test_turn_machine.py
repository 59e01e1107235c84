"""The sans-I/O turn: event sequences in, actions out, no event loop, no clock, no session."""

from __future__ import annotations

from typing import Any

import orjson

from responses_fast.errors import ServerError
from responses_fast.protocol.items import (
    CustomToolCall,
    CustomToolCallOutput,
    FunctionCall,
    FunctionCallOutput,
    Message,
)
from responses_fast.protocol.server_events import parse_server_event
from responses_fast.session.events import TextDelta
from responses_fast.session.metrics import TurnClock
from responses_fast.session.turn_machine import (
    CallReady,
    Failed,
    Finished,
    ItemReady,
    TurnMachine,
)


def ev(**fields: Any) -> Any:
    return parse_server_event(orjson.dumps(fields))


def created(rid: str = "resp_1") -> Any:
    return ev(type="response.created", response={"id": rid, "status": "in_progress"})


def delta(text: str) -> Any:
    return ev(
        type="response.output_text.delta", item_id="m", output_index=0, content_index=0, delta=text
    )


def done(item: dict[str, Any], index: int = 0) -> Any:
    return ev(type="response.output_item.done", output_index=index, item=item)


def fcall(cid: str, name: str = "add", args: str = '{"a":1}', **kw: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": cid, "name": name, "arguments": args, **kw}


def ccall(cid: str, text: str, **kw: Any) -> dict[str, Any]:
    return {"type": "custom_tool_call", "call_id": cid, "name": "apply_patch", "input": text, **kw}


def message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text}],
    }


def completed(rid: str = "resp_1", **usage: int) -> Any:
    return ev(
        type="response.completed",
        response={"id": rid, "status": "completed", "usage": usage or None},
    )


def machine(seen: set[str] | None = None, *, stream_text: bool = False) -> TurnMachine:
    known = seen or set()
    return TurnMachine(3, TurnClock(start=0.0), known.__contains__, stream_text=stream_text)


def feed(m: TurnMachine, events: list[Any]) -> list[Any]:
    return [m.receive(e, float(i + 1)) for i, e in enumerate(events)]


def test_text_answer_without_listener_builds_no_delta_events() -> None:
    m = machine()
    actions = feed(
        m,
        [
            created(),
            delta("he"),
            delta("llo"),
            done(message("hello")),
            completed(input_tokens=10, output_tokens=2),
        ],
    )
    assert actions[:3] == [None, None, None]
    assert isinstance(actions[3], ItemReady) and isinstance(actions[3].item, Message)
    assert actions[4] == Finished("resp_1")
    o = m.outcome
    assert (o.status, o.response_id, o.calls, o.events) == ("completed", "resp_1", [], 5)
    assert (o.input_tokens, o.output_tokens) == (10, 2)


def test_deltas_become_text_events_when_someone_listens() -> None:
    m = machine(stream_text=True)
    actions = feed(m, [created(), delta("he"), delta("llo")])
    assert actions[1:] == [TextDelta(3, "he"), TextDelta(3, "llo")]


def test_arrival_times_go_to_the_clock_and_the_machine_reads_none_itself() -> None:
    clock = TurnClock(start=0.0)
    m = TurnMachine(1, clock, set[str]().__contains__)
    m.receive(created(), 5.0)
    m.receive(delta("x"), 7.5)
    assert (clock.first_event, clock.last_event) == (5.0, 7.5)


def test_each_call_is_ready_at_its_own_item_done_before_the_response_ends() -> None:
    m = machine()
    actions = feed(
        m, [created(), done(fcall("c1"), 0), done(ccall("c2", "*** Begin Patch"), 1), completed()]
    )
    assert isinstance(actions[1], CallReady) and actions[1].call.call_id == "c1"
    assert isinstance(actions[2], CallReady) and isinstance(actions[2].call, CustomToolCall)
    assert actions[2].call.input == "*** Begin Patch"
    assert [c.call_id for c in m.outcome.calls] == ["c1", "c2"]


def test_a_call_that_ran_before_is_skipped_exactly_once_by_call_id() -> None:
    m = machine({"c1"})
    actions = feed(m, [created(), done(fcall("c1")), done(fcall("c2"), 1), completed()])
    assert actions[1] is None
    assert isinstance(actions[2], CallReady) and actions[2].call.call_id == "c2"
    assert [c.call_id for c in m.outcome.calls] == ["c2"]


def test_outputs_come_in_call_order_whatever_order_tools_finish_in() -> None:
    m = machine()
    feed(
        m,
        [
            created(),
            done(fcall("c1")),
            done(ccall("c2", "p"), 1),
            done(fcall("c3"), 2),
            completed(),
        ],
    )
    results = {"c3": "three", "c1": "one", "c2": "two"}
    outs = m.outputs(results, lambda cid: cid == "c3")  # c3's output is already logged
    assert [(type(o), o.call_id, o.output) for o in outs] == [
        (FunctionCallOutput, "c1", "one"),
        (CustomToolCallOutput, "c2", "two"),
    ]


def test_a_cancelled_call_without_result_gets_no_output_here() -> None:
    m = machine()
    feed(m, [created(), done(fcall("c1")), done(fcall("c2"), 1)])
    assert [o.call_id for o in m.outputs({"c2": "x"}, lambda _: False)] == ["c2"]


def test_partial_response_is_kept_only_when_a_call_started() -> None:
    m = machine()
    feed(m, [created(), delta("half an ans")])
    assert not m.keep_partial
    m2 = machine()
    feed(m2, [created(), done(fcall("c1"))])
    assert m2.keep_partial


def test_failed_response_fails_with_the_server_error() -> None:
    m = machine()
    (a,) = feed(
        m,
        [
            ev(
                type="response.failed",
                response={
                    "id": "r",
                    "status": "failed",
                    "error": {"code": "server_error", "message": "boom"},
                },
            )
        ],
    )
    assert isinstance(a, Failed) and isinstance(a.error, ServerError)
    assert "boom" in str(a.error) and a.error.code == "server_error"


def test_incomplete_response_runs_complete_calls_drops_cut_ones_and_sets_no_head() -> None:
    m = machine()
    actions = feed(
        m,
        [
            created(),
            done(fcall("c1")),
            done(fcall("c2", args='{"a":', status="incomplete"), 1),
            ev(
                type="response.incomplete",
                response={
                    "id": "resp_1",
                    "status": "incomplete",
                    "incomplete_details": {"reason": "max_output_tokens"},
                },
            ),
        ],
    )
    assert isinstance(actions[1], CallReady)
    assert actions[2] is None  # never run a call whose arguments were cut off
    assert actions[3] == Finished(None)  # the chain does not move on an incomplete response
    o = m.outcome
    assert (o.status, o.incomplete_reason) == ("incomplete", "max_output_tokens")
    assert [c.call_id for c in o.calls] == ["c1"]
    assert [c.call_id for c in o.cut_calls] == ["c2"]
    assert isinstance(o.cut_calls[0], FunctionCall)


def test_unknown_and_lifecycle_events_only_count() -> None:
    m = machine()
    actions = feed(
        m,
        [
            ev(type="response.in_progress", response={"id": "r"}),
            ev(type="response.something_new", x=1),
        ],
    )
    assert actions == [None, None] and m.outcome.events == 2


def test_a_delta_nobody_reads_allocates_no_tracked_object() -> None:
    """run() feeds every token's delta through the machine: it must leave no garbage for the GC."""
    import gc

    m = machine()
    deltas = [delta("tok ") for _ in range(2000)]
    m.receive(created(), 0.0)
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        for i, d in enumerate(deltas):
            m.receive(d, float(i))
        grown = gc.get_count()[0] - before
    finally:
        gc.enable()
    # A constant few (the loop's own enumerate object) are fine; one per event would be 2000.
    assert grown < 10, f"{grown} container objects allocated for 2000 deltas"
