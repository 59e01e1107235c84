"""Memory a session keeps per logged item (issue 13.6 / 15.3): exact-size wire bytes, no 4 KiB
orjson buffer per item. Allocation sizes are deterministic: no timing in these assertions."""

from __future__ import annotations

import gc
import tracemalloc

from responses_fast.cache.render import log_item
from responses_fast.protocol.items import FunctionCall
from responses_fast.session.log import ItemLog


def _grown(fn: object) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = fn()  # type: ignore[operator]
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del keep
    return grown


def test_a_logged_items_wire_bytes_are_an_exact_size_copy() -> None:
    calls = [
        FunctionCall(call_id=f"call_{i:04d}", name="add", arguments='{"a":1,"b":2}', id=f"fc_{i}")
        for i in range(200)
    ]
    entries = [log_item(c) for c in calls]
    raw_sizes = [len(e.raw) for e in entries]
    assert max(raw_sizes) < 130
    # What the 200 wire byte strings themselves cost: well under orjson's 4 KiB buffer each.
    grown = _grown(lambda: [log_item(c).raw for c in calls])
    assert grown / 200 < 400, f"{grown / 200:.0f} bytes per {max(raw_sizes)}-byte item"


def test_a_log_of_small_calls_costs_well_under_a_kilobyte_per_item_beyond_the_item() -> None:
    calls = [
        FunctionCall(call_id=f"call_{i:04d}", name="add", arguments='{"a":1,"b":2}')
        for i in range(200)
    ]

    def fill() -> ItemLog:
        log = ItemLog()
        for c in calls:
            log.append(c)
        return log

    per_item = _grown(fill) / 200
    assert per_item < 1000, f"{per_item:.0f} bytes per logged call"


def test_a_released_log_keeps_only_wire_bytes_and_rebuilds_equal_items() -> None:
    from responses_fast.protocol.items import FunctionCallOutput, Message, OutputText

    def measure() -> int:
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()  # only what is allocated from here on is traced
    try:
        log = ItemLog()
        for i in range(100):
            log.append(Message(role="assistant", content=[OutputText(text=f"step {i} is fine")]))
            log.append(FunctionCall(call_id=f"c{i}", name="add", arguments='{"a":1}'))
            log.append(FunctionCallOutput(call_id=f"c{i}", output=f"{i}"))
        with_models = measure()
        log.release()
        released = measure()
    finally:
        tracemalloc.stop()
    per_item_freed = (with_models - released) / 300
    assert per_item_freed > 300, f"release freed only {per_item_freed:.0f} bytes per item"
    rebuilt = log.items()
    kinds = [type(x).__name__ for x in rebuilt[:3]]
    assert kinds == ["Message", "FunctionCall", "FunctionCallOutput"]
    assert rebuilt[1] == FunctionCall(call_id="c0", name="add", arguments='{"a":1}')
    assert log.has_call("c99") and log.dangling_calls() == []
