"""Rendered prefix cache and body assembly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from responses_fast.cache.prefix import (
    PREFIX_CACHE_SIZE,
    STREAM_TRUE,
    WS_RESPONSE_CREATE,
    RenderedPrefix,
    assemble_full_body,
    assemble_incremental_body,
    session_cache_key,
)
from responses_fast.cache.render import log_item
from responses_fast.cache.tokens import TokenCounter
from responses_fast.errors import ConfigurationError
from responses_fast.protocol.client_events import assemble_body, render_fields
from responses_fast.protocol.items import FunctionCall, FunctionCallOutput, user_message
from responses_fast.transports.base import RequestSettings

TOOLS = (
    {
        "type": "function",
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    RenderedPrefix.clear()
    yield
    RenderedPrefix.clear()


def _settings(**kw: Any) -> RequestSettings:
    base: dict[str, Any] = {
        "model": "gpt-5",
        "instructions": "You are a careful coding agent.\nFix the bug.",
        "tools": TOOLS,
        "tool_choice": "auto",
        "prompt_cache_key": "rf-test",
        "extra": (("reasoning", {"effort": "low"}),),
    }
    base.update(kw)
    return RequestSettings(**base)


def test_rendered_once_per_settings_object() -> None:
    s = _settings()
    p1 = RenderedPrefix.for_settings(s)
    p2 = RenderedPrefix.for_settings(s)
    assert p1 is p2
    stats = RenderedPrefix.statistics()
    assert (stats.renders, stats.hits, stats.size) == (1, 1, 1)
    RenderedPrefix.for_settings(_settings())  # equal but another object: rendered again
    assert RenderedPrefix.statistics().renders == 2


def test_cache_is_bounded() -> None:
    keep = [_settings(model=f"m{i}") for i in range(PREFIX_CACHE_SIZE + 5)]
    for s in keep:
        RenderedPrefix.for_settings(s)
    assert RenderedPrefix.statistics().size == PREFIX_CACHE_SIZE


def test_full_body_equals_json_dumps_of_dict() -> None:
    s = _settings()
    items = [
        user_message("fix it"),
        FunctionCall(call_id="c1", name="read_file", arguments='{"path":"a.py"}'),
        FunctionCallOutput(call_id="c1", output="print('hé')\n"),
    ]
    logged = [log_item(i) for i in items]
    body = assemble_full_body(RenderedPrefix.for_settings(s), logged, STREAM_TRUE)
    expected = {
        **s.fields(),
        "stream": True,
        "input": [i.model_dump(mode="json", exclude_unset=True) for i in items],
    }
    assert json.loads(body) == expected
    assert list(json.loads(body)) == list(expected)  # same key order
    compact = json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    assert body == compact


def test_incremental_body() -> None:
    s = _settings()
    new = [log_item(FunctionCallOutput(call_id="c1", output="done"))]
    prefix = RenderedPrefix.for_settings(s)
    body = assemble_incremental_body(prefix, "resp_123", new, WS_RESPONSE_CREATE)
    data = json.loads(body)
    assert data == {
        **s.fields(),
        "previous_response_id": "resp_123",
        "type": "response.create",
        "input": [{"type": "function_call_output", "call_id": "c1", "output": "done"}],
    }


def test_empty_input_and_minimal_settings() -> None:
    s = RequestSettings(model="gpt-4o")
    body = assemble_full_body(RenderedPrefix.for_settings(s), [])
    assert json.loads(body) == {"model": "gpt-4o", "store": False, "input": []}


def test_prefix_tokens_counted_once_per_encoding() -> None:
    s = _settings()
    prefix = RenderedPrefix.for_settings(s)
    counter = TokenCounter("gpt-4")
    n = prefix.token_count(counter)
    assert n == counter.count_text(s.instructions or "") + counter.count_text(
        json.dumps(list(TOOLS), separators=(",", ":"))
    )
    assert prefix.token_count(counter) == n


def test_unserializable_settings() -> None:
    with pytest.raises(ConfigurationError, match="not JSON-serializable"):
        RenderedPrefix.for_settings(_settings(extra=(("bad", object()),)))


def test_session_cache_key() -> None:
    a, b = session_cache_key(), session_cache_key()
    assert a != b and a.startswith("rf-") and len(a) == 35
    assert session_cache_key("conv-1") == session_cache_key("conv-1") != session_cache_key("x")
    assert session_cache_key(b"conv-1") == session_cache_key("conv-1")


@pytest.mark.parametrize("n", [0, 1, 3])
@pytest.mark.parametrize("pieces", [(), (STREAM_TRUE,), (b"", WS_RESPONSE_CREATE, STREAM_TRUE)])
def test_bodies_match_protocol_assemble_body(n: int, pieces: tuple[bytes, ...]) -> None:
    items = [log_item(user_message(f"m{i}")) for i in range(n)]
    for s in (_settings(), RequestSettings(model="x")):
        prefix = RenderedPrefix.for_settings(s)
        raws = [i.raw for i in items]
        assert assemble_full_body(prefix, items, *pieces) == assemble_body(
            prefix.fields, *pieces, input_items=raws
        )
        prev = render_fields({"previous_response_id": "resp_1"})
        assert assemble_incremental_body(prefix, "resp_1", items, *pieces) == assemble_body(
            prefix.fields, prev, *pieces, input_items=raws
        )
