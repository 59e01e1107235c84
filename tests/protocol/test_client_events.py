"""Client events: response.create and friends, unknown types, malformed frames, body assembly."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responses_fast.errors import RemoteProtocolError
from responses_fast.protocol.client_events import (
    ResponseAppend,
    ResponseCreate,
    ResponseInject,
    ResponseSteer,
    UnknownClientEvent,
    assemble_body,
    parse_client_event,
    render_fields,
)
from responses_fast.protocol.items import FunctionCallOutput, Message, item_bytes, user_message

TOOL = {
    "type": "function",
    "name": "read_file",
    "description": "Read a file",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
        "additionalProperties": False,
    },
}
CREATE_1 = {
    "type": "response.create",
    "model": "gpt-5.5",
    "store": False,
    "instructions": "You are a coding agent.",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix a.py"}]}
    ],
    "tools": [TOOL],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "prompt_cache_key": "sess-42",
    "reasoning": {"effort": "low"},
    "include": ["reasoning.encrypted_content"],
}
CREATE_2 = {
    "type": "response.create",
    "model": "gpt-5.5",
    "store": False,
    "previous_response_id": "resp_A",
    "instructions": "You are a coding agent.",
    "tools": [TOOL],
    "tool_choice": "auto",
    "input": [{"type": "function_call_output", "call_id": "call_1", "output": "def f(): ..."}],
}


def test_golden_creates() -> None:
    first = parse_client_event(orjson.dumps(CREATE_1))
    assert isinstance(first, ResponseCreate)
    assert first.model == "gpt-5.5" and first.store is False and first.tools == [TOOL]
    assert isinstance(first.input, list) and isinstance(first.input[0], Message)
    assert first.model_extra == {
        "reasoning": {"effort": "low"},
        "include": ["reasoning.encrypted_content"],
    }
    second = parse_client_event(orjson.dumps(CREATE_2))
    assert isinstance(second, ResponseCreate) and second.previous_response_id == "resp_A"
    assert isinstance(second.input, list) and isinstance(second.input[0], FunctionCallOutput)


def test_create_tolerates_stream_and_unknown_fields() -> None:
    event = parse_client_event(
        b'{"type":"response.create","model":"m","stream":true,"input":"hi","brand_new":[1]}'
    )
    assert isinstance(event, ResponseCreate)
    assert event.stream is True and event.input == "hi"
    assert event.model_extra == {"brand_new": [1]}


def test_other_known_frames() -> None:
    assert isinstance(
        parse_client_event(b'{"type":"response.steer","previous_response_id":"r","input":[]}'),
        ResponseSteer,
    )
    assert isinstance(
        parse_client_event(b'{"type":"response.inject","response_id":"r","input":"x"}'),
        ResponseInject,
    )
    assert isinstance(parse_client_event(b'{"type":"response.append","input":[]}'), ResponseAppend)


def test_unknown_type_kept() -> None:
    event = parse_client_event('{"type":"session.update","session":{"a":1}}')
    assert isinstance(event, UnknownClientEvent)
    assert event.type == "session.update" and event.model_extra == {"session": {"a": 1}}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"7", "must be a JSON object"),
        (b"{}", "no 'type'"),
        (b'{"type":5}', "no string 'type'"),  # used to leak a pydantic ValidationError
        (b'{"type":[1]}', "no string 'type'"),
        (b'{"type":"response.create","model":5}', "field 'model'"),
        (b'{"type":"response.create","input":[{"type":[1]}]}', "field 'input"),  # was TypeError
        (b'{"type":"response.create","tools":{}}', "field 'tools'"),
    ],
)
def test_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_client_event(raw)
    assert reason in str(info.value) and info.value.raw == raw[:200]


def test_assemble_body_equals_dumping_the_whole_body() -> None:
    fixed = render_fields({"model": "gpt-5.5", "store": False, "instructions": "x", "tools": None})
    turn = render_fields({"previous_response_id": "resp_A"})
    items = [user_message("hi"), FunctionCallOutput(call_id="c", output="o")]
    body = assemble_body(fixed, b"", turn, input_items=[item_bytes(i) for i in items])
    assert orjson.loads(body) == {
        "model": "gpt-5.5",
        "store": False,
        "instructions": "x",
        "previous_response_id": "resp_A",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "function_call_output", "call_id": "c", "output": "o"},
        ],
    }
    parsed = parse_client_event(b'{"type":"response.create",' + body[1:])
    assert isinstance(parsed, ResponseCreate) and parsed.input is not None
    assert assemble_body() == b"{}"
    assert orjson.loads(assemble_body(fixed, input_items=[]))["input"] == []


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
        parse_client_event(raw)
    except RemoteProtocolError:
        pass


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_bytes(raw: bytes) -> None:
    _check(raw)


@FUZZ
@given(json_values)
def test_fuzz_json(value: object) -> None:
    _check(json.dumps(value))


@FUZZ
@given(st.sampled_from([CREATE_1, CREATE_2]), st.data())
def test_fuzz_mutated(event: dict[str, object], data: st.DataObject) -> None:
    mutated = dict(event)
    key = data.draw(st.sampled_from(sorted(mutated)))
    if data.draw(st.booleans()):
        del mutated[key]
    else:
        mutated[key] = data.draw(json_values)
    raw = json.dumps(mutated).encode()
    _check(raw)
    _check(raw[: data.draw(st.integers(0, len(raw)))])
