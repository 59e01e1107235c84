"""Server events: the protocol.md §5 golden transcript, unknown pass-through, malformed input."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responses_fast.errors import RemoteProtocolError
from responses_fast.protocol.items import FunctionCall, Message, OutputText, UnknownItem
from responses_fast.protocol.server_events import (
    TERMINAL_EVENT_TYPES,
    ContentPartAdded,
    ContentPartDone,
    ErrorEvent,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    OutputTextDone,
    ResponseCompleted,
    ResponseCreated,
    ResponseInProgress,
    UnknownEvent,
    parse_server_event,
)

FC_DONE = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "read_file",
    "arguments": '{"path":"a.py"}',
    "status": "completed",
}
RESPONSE_A = {
    "id": "resp_A",
    "object": "response",
    "created_at": 1761000000,
    "status": "in_progress",
    "model": "gpt-5.5",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "store": False,
    "previous_response_id": None,
    "usage": None,
}
MSG_DONE = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Fixed.", "annotations": []}],
}
# protocol.md §5, first response (tool call), one JSON per WebSocket message.
TURN_A: list[dict[str, object]] = [
    {"type": "response.created", "sequence_number": 0, "response": RESPONSE_A},
    {"type": "response.in_progress", "sequence_number": 1, "response": RESPONSE_A},
    {
        "type": "response.output_item.added",
        "sequence_number": 2,
        "output_index": 0,
        "item": {**FC_DONE, "arguments": "", "status": "in_progress"},
    },
    {
        "type": "response.function_call_arguments.delta",
        "sequence_number": 3,
        "item_id": "fc_1",
        "output_index": 0,
        "delta": '{"path":',
    },
    {
        "type": "response.function_call_arguments.delta",
        "sequence_number": 4,
        "item_id": "fc_1",
        "output_index": 0,
        "delta": '"a.py"}',
    },
    {
        "type": "response.function_call_arguments.done",
        "sequence_number": 5,
        "item_id": "fc_1",
        "output_index": 0,
        "arguments": '{"path":"a.py"}',
    },
    {"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": FC_DONE},
    {
        "type": "response.completed",
        "sequence_number": 7,
        "response": {
            "id": "resp_A",
            "status": "completed",
            "output": [FC_DONE],
            "usage": {
                "input_tokens": 812,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 19,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 831,
            },
        },
    },
]
# protocol.md §5, second response (text), with a lane.
_B = {"id": "resp_B", "status": "in_progress", "previous_response_id": "resp_A", "output": []}
_PART = {"type": "output_text", "text": "", "annotations": []}
_M = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
TURN_B: list[dict[str, object]] = [
    {"type": "response.created", "sequence_number": 0, "response": _B},
    {"type": "response.in_progress", "sequence_number": 1, "response": _B},
    {
        "type": "response.output_item.added",
        "sequence_number": 2,
        "output_index": 0,
        "item": {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        },
    },
    {"type": "response.content_part.added", "sequence_number": 3, **_M, "part": _PART},
    {
        "type": "response.output_text.delta",
        "sequence_number": 4,
        **_M,
        "delta": "Fixed",
        "logprobs": [],
        "obfuscation": "q7",
    },
    {
        "type": "response.output_text.delta",
        "sequence_number": 5,
        **_M,
        "delta": ".",
        "logprobs": [],
    },
    {
        "type": "response.output_text.done",
        "sequence_number": 6,
        **_M,
        "text": "Fixed.",
        "logprobs": [],
    },
    {
        "type": "response.content_part.done",
        "sequence_number": 7,
        **_M,
        "part": {**_PART, "text": "Fixed."},
    },
    {
        "type": "response.output_item.done",
        "sequence_number": 8,
        "output_index": 0,
        "item": MSG_DONE,
    },
    {
        "type": "response.completed",
        "sequence_number": 9,
        "response": {
            "id": "resp_B",
            "status": "completed",
            "output": [MSG_DONE],
            "usage": {
                "input_tokens": 860,
                "input_tokens_details": {"cached_tokens": 768, "cache_write_tokens": 0},
                "output_tokens": 3,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 863,
            },
        },
    },
]
for _e in TURN_B:
    _e["stream_id"] = "lane-a"

GOLDEN = [orjson.dumps(e) for e in TURN_A + TURN_B]


def test_golden_turn_a_tool_call() -> None:
    events = [parse_server_event(orjson.dumps(e)) for e in TURN_A]
    assert [type(e) for e in events] == [
        ResponseCreated,
        ResponseInProgress,
        OutputItemAdded,
        FunctionCallArgumentsDelta,
        FunctionCallArgumentsDelta,
        FunctionCallArgumentsDone,
        OutputItemDone,
        ResponseCompleted,
    ]
    assert [e.sequence_number for e in events] == list(range(8))
    created = events[0]
    assert isinstance(created, ResponseCreated)
    assert created.response.id == "resp_A" and created.response.status == "in_progress"
    assert created.response.model == "gpt-5.5" and created.response.output == []
    assert created.response.model_extra is not None
    assert created.response.model_extra["parallel_tool_calls"] is True  # untyped fields kept
    added = events[2]
    assert isinstance(added, OutputItemAdded) and isinstance(added.item, FunctionCall)
    assert added.item.arguments == "" and added.item.status == "in_progress"
    deltas = [e.delta for e in events[3:5] if isinstance(e, FunctionCallArgumentsDelta)]
    done_args = events[5]
    assert isinstance(done_args, FunctionCallArgumentsDone)
    assert "".join(deltas) == done_args.arguments == '{"path":"a.py"}'
    done = events[6]
    assert isinstance(done, OutputItemDone)
    assert done.item == FunctionCall(
        id="fc_1",
        call_id="call_1",
        name="read_file",
        arguments='{"path":"a.py"}',
        status="completed",
    )
    completed = events[7]
    assert isinstance(completed, ResponseCompleted)
    usage = completed.response.usage
    assert usage is not None and usage.input_tokens == 812 and usage.output_tokens == 19
    assert usage.total_tokens == 831
    assert usage.input_tokens_details is not None and usage.input_tokens_details.cached_tokens == 0
    assert completed.response.output == [done.item]
    assert completed.type in TERMINAL_EVENT_TYPES


def test_golden_turn_b_text_with_lane() -> None:
    events = [parse_server_event(orjson.dumps(e)) for e in TURN_B]
    assert [type(e) for e in events] == [
        ResponseCreated,
        ResponseInProgress,
        OutputItemAdded,
        ContentPartAdded,
        OutputTextDelta,
        OutputTextDelta,
        OutputTextDone,
        ContentPartDone,
        OutputItemDone,
        ResponseCompleted,
    ]
    for e in events:
        assert e.model_extra is not None and e.model_extra["stream_id"] == "lane-a"
    first = events[0]
    assert isinstance(first, ResponseCreated)
    assert first.response.previous_response_id == "resp_A"
    d0, d1 = events[4], events[5]
    assert isinstance(d0, OutputTextDelta) and isinstance(d1, OutputTextDelta)
    assert (d0.item_id, d0.output_index, d0.content_index) == ("msg_1", 0, 0)
    assert d0.model_extra == {"logprobs": [], "obfuscation": "q7", "stream_id": "lane-a"}
    text_done = events[6]
    assert isinstance(text_done, OutputTextDone) and text_done.text == d0.delta + d1.delta
    part_done = events[7]
    assert isinstance(part_done, ContentPartDone) and part_done.part is not None
    assert part_done.part["text"] == "Fixed."
    item_done = events[8]
    assert isinstance(item_done, OutputItemDone) and isinstance(item_done.item, Message)
    assert item_done.item.role == "assistant" and item_done.item.id == "msg_1"
    assert item_done.item.content == [OutputText(text="Fixed.")]
    completed = events[9]
    assert isinstance(completed, ResponseCompleted) and completed.response.usage is not None
    details = completed.response.usage.input_tokens_details
    assert details is not None and details.cached_tokens == 768


def test_str_and_bytes_parse_alike() -> None:
    for raw in GOLDEN:
        assert parse_server_event(raw) == parse_server_event(raw.decode())


def test_error_event_both_shapes() -> None:
    ws = parse_server_event(
        b'{"type":"error","status":400,"sequence_number":null,"stream_id":"lane-a",'
        b'"error":{"type":"invalid_request_error","code":"previous_response_not_found",'
        b'"message":"Previous response not found.","param":"previous_response_id",'
        b'"headers":{"x-request-id":"r"},"misalignment":null}}'
    )
    assert isinstance(ws, ErrorEvent) and ws.status == 400
    assert ws.detail.code == "previous_response_not_found"
    assert ws.detail.headers == {"x-request-id": "r"}
    assert ws.detail.model_extra == {"misalignment": None}
    sse = parse_server_event(
        b'{"type":"error","code":"server_error","message":"boom","param":null,"sequence_number":3}'
    )
    assert isinstance(sse, ErrorEvent) and sse.detail.code == "server_error"
    assert sse.detail.message == "boom"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"response.done","response":{"id":"r"}}',
        b'{"type":"codex.rate_limits","plan_type":"pro","rate_limits":{"primary":{"used_percent":3}}}',
        b'{"type":"response.steer.accepted","steer":{"id":"s"},"sequence_number":4}',
        b'{"type":"response.web_search_call.searching","item_id":"ws_1","output_index":0}',
    ],
)
def test_unknown_event_types_pass_through(raw: bytes) -> None:
    event = parse_server_event(raw)
    assert isinstance(event, UnknownEvent)
    assert event.model_dump(exclude_unset=True) == orjson.loads(raw)


def test_unknown_fields_and_items_kept() -> None:
    raw = (
        b'{"type":"response.output_item.done","output_index":1,"future":{"x":1},'
        b'"item":{"type":"compaction","id":"cmp_1","encrypted_content":"zz"}}'
    )
    event = parse_server_event(raw)
    assert isinstance(event, OutputItemDone) and event.model_extra == {"future": {"x": 1}}
    assert isinstance(event.item, UnknownItem) and event.item.model_extra is not None
    assert event.item.model_extra["encrypted_content"] == "zz"


MALFORMED = [
    (b"", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b"42", "must be a JSON object"),
    (b'"response.created"', "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b"{}", "no string 'type'"),
    (b'{"type":5}', "no string 'type'"),
    (b'{"type":null}', "no string 'type'"),
    (b'{"type":["response.created"]}', "no string 'type'"),
    (b'{"type":"response.created"}', "field 'response'"),
    (b'{"type":"response.created","response":{}}', "field 'response.id'"),
    (b'{"type":"response.output_text.delta","output_index":0,"delta":5}', "field 'delta'"),
    (b'{"type":"response.output_text.delta","output_index":"x","delta":"a"}', "'output_index'"),
    (b'{"type":"response.output_item.done","output_index":0,"item":{"type":[1]}}', "item"),
    (b'{"type":"response.output_item.done","output_index":0,"item":[]}', "item"),
    (b'{"type":"future.event","sequence_number":"x"}', "'future.event'"),
]


@pytest.mark.parametrize(("raw", "reason"), MALFORMED)
def test_malformed_raises_remote_protocol_error(raw: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_server_event(raw)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message and not message.endswith(" at ")
    assert info.value.raw == raw[:200]


def test_raw_is_truncated() -> None:
    raw = b'{"type":"response.output_text.delta","output_index":0,"delta":' + b"1" * 1000 + b"}"
    with pytest.raises(RemoteProtocolError) as info:
        parse_server_event(raw)
    assert info.value.raw == raw[:200]


def test_str_with_lone_surrogate() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_server_event('{"type":"\ud800"}')


# ------------------------------------------------------------------------------------ fuzzing

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _check(raw: bytes | str) -> None:
    try:
        event = parse_server_event(raw)
    except RemoteProtocolError as exc:
        assert exc.raw is not None and len(exc.raw) <= 200
        return
    assert isinstance(event.type, str)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(raw: bytes) -> None:
    _check(raw)


@FUZZ
@given(json_values)
def test_fuzz_random_json(value: object) -> None:
    _check(json.dumps(value))


@FUZZ
@given(st.sampled_from(TURN_A + TURN_B), st.data())
def test_fuzz_mutated_golden(event: dict[str, object], data: st.DataObject) -> None:
    mutated = dict(event)
    key = data.draw(st.sampled_from(sorted(mutated)))
    if data.draw(st.booleans()):
        del mutated[key]
    else:
        mutated[key] = data.draw(json_values)
    _check(json.dumps(mutated))


@FUZZ
@given(st.sampled_from(GOLDEN), st.integers(min_value=0, max_value=400))
def test_fuzz_truncated_golden(raw: bytes, cut: int) -> None:
    _check(raw[:cut])


@pytest.mark.parametrize(
    "raw",
    [
        # the unknown-type fast path peeks at a leading "type": these must still parse as known
        b'{"type":"x","type":"response.output_text.delta","output_index":0,"delta":"a"}',
        b'{"type":"response.output_text.delt\\u0061","output_index":0,"delta":"a"}',
        b' {"type":"response.output_text.delta","output_index":0,"delta":"a"}',
        b'{"output_index":0,"delta":"a","type":"response.output_text.delta"}',
    ],
)
def test_known_type_written_unusually(raw: bytes) -> None:
    event = parse_server_event(raw)
    assert isinstance(event, OutputTextDelta) and event.delta == "a"


def test_unknown_fast_path_validates_fields() -> None:
    with pytest.raises(RemoteProtocolError, match="'sequence_number'"):
        parse_server_event(b'{"type":"new.thing","sequence_number":[]}')
    event = parse_server_event(b'{"type":"new.thing","sequence_number":3,"x":{"y":[1]}}')
    assert isinstance(event, UnknownEvent) and event.sequence_number == 3
    assert event.model_extra == {"x": {"y": [1]}}
