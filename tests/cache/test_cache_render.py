"""Item logging (bad input) and truncate_output."""

from __future__ import annotations

import json

import pytest

from responses_fast.cache.render import LoggedItem, log_item, log_items, truncate_output
from responses_fast.errors import ConfigurationError
from responses_fast.protocol.items import FunctionCallOutput, Message, user_message


def test_log_item_keeps_wire_bytes() -> None:
    logged = log_item(user_message("hi"))
    assert isinstance(logged, LoggedItem)
    assert json.loads(logged.raw) == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
    }
    assert logged.tokens is None and logged.extra == {}


def test_log_item_accepts_a_mapping() -> None:
    logged = log_item({"type": "function_call_output", "call_id": "c1", "output": "ok"})
    assert isinstance(logged.item, FunctionCallOutput)
    assert json.loads(logged.raw)["call_id"] == "c1"
    easy = log_item({"role": "user", "content": "hello"})
    assert isinstance(easy.item, Message)


def test_unserializable_item_names_index_and_type() -> None:
    good = user_message("fine")
    bad = FunctionCallOutput.model_validate({"call_id": "c1", "output": "x", "payload": object()})
    with pytest.raises(ConfigurationError) as info:
        log_items([good, good, bad])
    msg = str(info.value)
    assert "item 2" in msg and "FunctionCallOutput" in msg and "function_call_output" in msg
    assert "not JSON-serializable" in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1.0, float("-inf")]])
def test_non_finite_numbers_refused(value: object) -> None:
    with pytest.raises(ConfigurationError, match="NaN or infinite"):
        log_item(FunctionCallOutput.model_validate({"call_id": "c", "output": "x", "score": value}))


def test_lone_surrogate_refused() -> None:
    with pytest.raises(ConfigurationError, match="not JSON-serializable"):
        log_item(FunctionCallOutput(call_id="c", output="bad \ud800 text"))


def test_invalid_mapping_and_wrong_type() -> None:
    with pytest.raises(ConfigurationError, match="item 0"):
        log_items([{"type": "function_call", "name": "f"}])  # no call_id/arguments
    with pytest.raises(ConfigurationError, match="not a conversation item"):
        log_item(42)  # type: ignore[arg-type]


def test_truncate_short_text_unchanged() -> None:
    assert truncate_output("hello", 100) == "hello"


def test_truncate_huge_text_head_tail_marker() -> None:
    text = "HEAD" + "x" * 3_000_000 + "TAIL"  # 3 MB
    out = truncate_output(text, 1000)
    assert out.startswith("HEAD") and out.endswith("TAIL")
    omitted = len(text) - 1000
    assert f"[... {omitted} bytes omitted ...]" in out
    assert len(out.encode()) < 1000 + 80


def test_truncate_cuts_on_character_boundaries() -> None:
    text = "é" * 1000  # 2 bytes each
    out = truncate_output(text, 101)
    head, rest = out.split("\n[... ", 1)
    omitted = int(rest.split(" ", 1)[0])
    tail = rest.split("...]\n", 1)[1]
    assert set(head) == {"é"} and set(tail) == {"é"}
    assert len(head.encode()) + len(tail.encode()) + omitted == 2000


def test_truncate_binary_is_marked() -> None:
    data = bytes(range(256)) * 10
    out = truncate_output(data, 200)
    assert out.startswith("[binary output: 2560 bytes, decoded with replacement characters]")
    assert "bytes omitted" in out
    out.encode("utf-8")  # valid text
    assert log_item(FunctionCallOutput(call_id="c", output=out)).raw


def test_truncate_utf8_bytes_are_text() -> None:
    assert truncate_output("naïve".encode(), 100) == "naïve"


def test_truncate_surrogates_replaced_and_noted() -> None:
    out = truncate_output("ok \udcff end", 100)
    assert "1 invalid characters" in out and out.endswith("ok ? end")


def test_truncate_bad_arguments() -> None:
    with pytest.raises(ValueError):
        truncate_output("x", 10)
    with pytest.raises(TypeError):
        truncate_output(123, 100)  # type: ignore[arg-type]
