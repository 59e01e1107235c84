"""Items: encode-then-parse round trips, unknown fields and types kept, constructed items typed."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from responses_fast.protocol.items import (
    FunctionCall,
    FunctionCallOutput,
    InputText,
    Message,
    OutputText,
    Reasoning,
    UnknownItem,
    item_adapter,
    item_bytes,
    item_text,
    items_adapter,
    user_message,
)

WIRE_ITEMS: list[dict[str, object]] = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix a.py"}]},
    {"role": "user", "content": "bare easy-input message"},
    {"type": "message", "role": "developer", "content": "be terse"},
    {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": "Fixed.", "annotations": [], "logprobs": []},
            {"type": "refusal", "refusal": "no"},
        ],
    },
    {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "read_file",
        "arguments": '{"path":"a.py"}',
        "status": "completed",
        "namespace": "fs",
    },
    {"type": "function_call_output", "call_id": "call_1", "output": "def f():\n    return 1\n"},
    {
        "type": "function_call_output",
        "call_id": "call_2",
        "output": [{"type": "input_text", "text": "ok"}],
    },
    {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "thinking"}],
        "encrypted_content": "gAAA",
        "content": [{"type": "reasoning_text", "text": "hmm"}],
    },
    {"type": "compaction", "id": "cmp_1", "encrypted_content": "zz"},
    {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"query": "x"}},
]


@pytest.mark.parametrize("wire", WIRE_ITEMS, ids=lambda w: str(w.get("type", "bare")))
def test_round_trip_keeps_every_field(wire: dict[str, object]) -> None:
    item = item_adapter.validate_json(orjson.dumps(wire))
    # A bare {"role","content"} message is written back with its implied type.
    assert orjson.loads(item_bytes(item)) == {"type": "message", **wire}
    again = item_adapter.validate_json(item_bytes(item))
    assert again == item


def test_list_round_trip_and_classes() -> None:
    items = items_adapter.validate_json(orjson.dumps(WIRE_ITEMS))
    assert [type(i) for i in items] == [
        Message,
        Message,
        Message,
        Message,
        FunctionCall,
        FunctionCallOutput,
        FunctionCallOutput,
        Reasoning,
        UnknownItem,
        UnknownItem,
    ]
    joined = b"[" + b",".join(item_bytes(i) for i in items) + b"]"
    assert orjson.loads(joined) == [{"type": "message", **w} for w in WIRE_ITEMS]


def test_constructed_items_carry_their_type() -> None:
    # Regression: exclude_unset dropped the defaulted ``type`` and the API rejects such items.
    assert orjson.loads(item_bytes(user_message("hi"))) == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
    }
    call = FunctionCall(call_id="c", name="n", arguments="{}")
    assert orjson.loads(item_bytes(call)) == {
        "type": "function_call",
        "call_id": "c",
        "name": "n",
        "arguments": "{}",
    }
    out = FunctionCallOutput(call_id="c", output="x")
    assert orjson.loads(item_bytes(out))["type"] == "function_call_output"
    assert item_adapter.validate_json(item_bytes(call)) == call


def test_item_text() -> None:
    msg = Message(role="assistant", content=[OutputText(text="a"), OutputText(text="b")])
    assert item_text(msg) == "ab"
    assert item_text(Message(role="user", content="plain")) == "plain"
    assert item_text(Message(role="user", content=[InputText(text="q")])) == "q"
    assert item_text(FunctionCall(call_id="c", name="n", arguments="{}")) == ""


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":[1]}',
        b'{"type":{"a":1}}',
        b"{}",
        b'{"type":"message","role":"user","content":[{"type":[1]}]}',
        b'{"type":"function_call","call_id":"c","name":"n","arguments":{}}',
        b"[]",
    ],
)
def test_bad_items_raise_validation_error_only(raw: bytes) -> None:
    # Unhashable tags used to raise TypeError from the discriminator.
    with pytest.raises(ValidationError):
        item_adapter.validate_json(raw)
