"""Chat Completions dialect: items -> messages (checked against the openai SDK's param types),
cached-fragment rendering, tools, and the stream assembler (parallel calls, Cerebras quirk, usage,
errors, fuzzing)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from pydantic import ConfigDict, TypeAdapter

from responses_fast.errors import (
    APIError,
    BadRequestError,
    ConfigurationError,
    RateLimitError,
    RemoteProtocolError,
    ServerError,
)
from responses_fast.protocol.chat import (
    ChatFragment,
    ChatStreamAssembler,
    chat_fragment,
    items_to_messages,
    render_messages,
    tools_to_chat,
)
from responses_fast.protocol.items import (
    FunctionCall,
    FunctionCallOutput,
    Message,
    OutputText,
    Reasoning,
    items_adapter,
    user_message,
)
from responses_fast.protocol.server_events import (
    ContentPartAdded,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    ReasoningTextDelta,
    ResponseCompleted,
    ResponseCreated,
    ResponseIncomplete,
    ServerEvent,
)

STRICT = ConfigDict(extra="forbid")
MESSAGES = TypeAdapter(list[ChatCompletionMessageParam], config=STRICT)
TOOLS = TypeAdapter(list[ChatCompletionToolParam], config=STRICT)


def _sdk_valid(messages: list[dict[str, Any]]) -> None:
    validated = MESSAGES.validate_python(messages)
    for msg in validated:  # Iterable fields validate lazily: drain them
        for key in ("tool_calls", "content"):
            value = msg.get(key)
            if value is not None and not isinstance(value, str):
                list(value)


# A multi-turn tool conversation as the Responses log holds it.
CONVERSATION = [
    {"type": "message", "role": "developer", "content": "Be terse."},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Fix a.py"}]},
    # turn 1: reasoning, text, then two parallel calls
    {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gA"},
    {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Reading.", "annotations": []}],
    },
    {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": '{"path":"a.py"}'},
    {"type": "reasoning", "id": "rs_2", "summary": []},
    {"type": "function_call", "call_id": "c2", "name": "read_file", "arguments": '{"path":"b.py"}'},
    {"type": "function_call_output", "call_id": "c1", "output": "A"},
    {
        "type": "function_call_output",
        "call_id": "c2",
        "output": [{"type": "input_text", "text": "B"}],
    },
    # turn 2: a call without text
    {"type": "function_call", "call_id": "c3", "name": "write_file", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c3", "output": "ok"},
    # turn 3: the answer, then the user again
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done."}]},
    {"type": "compaction", "id": "cmp", "encrypted_content": "x"},
    {"role": "user", "content": "thanks"},
]
EXPECTED = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "developer", "content": "Be terse."},
    {"role": "user", "content": "Fix a.py"},
    {
        "role": "assistant",
        "content": "Reading.",
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path":"a.py"}'},
            },
            {
                "id": "c2",
                "type": "function",
                "function": {"name": "read_file", "arguments": '{"path":"b.py"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "A"},
    {"role": "tool", "tool_call_id": "c2", "content": "B"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c3", "type": "function", "function": {"name": "write_file", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c3", "content": "ok"},
    {"role": "assistant", "content": "Done."},
    {"role": "user", "content": "thanks"},
]


def test_items_to_messages_multi_turn() -> None:
    messages = items_to_messages(CONVERSATION, "You are a coding agent.")
    assert messages == EXPECTED
    _sdk_valid(messages)


def test_items_to_messages_accepts_models() -> None:
    items = items_adapter.validate_python(CONVERSATION)
    assert items_to_messages(items, "You are a coding agent.") == EXPECTED
    assert items_to_messages([user_message("hi")]) == [{"role": "user", "content": "hi"}]


def test_render_messages_equals_items_to_messages() -> None:
    items = items_adapter.validate_python(CONVERSATION)
    fragments = [chat_fragment(i) for i in items]
    assert orjson.loads(render_messages(fragments, "You are a coding agent.")) == EXPECTED
    # Cached fragments are reused as the log grows: only the new item is rendered.
    more = FunctionCall(call_id="c9", name="n", arguments="{}")
    grown = orjson.loads(render_messages([*fragments, chat_fragment(more)]))
    assert grown == items_to_messages([*items, more])
    assert render_messages([]) == b"[]"


@pytest.mark.parametrize(
    "items",
    [
        [FunctionCall(call_id="a", name="n", arguments="{}")],
        [
            Message(role="assistant", content=[OutputText(text="x")]),
            Message(role="assistant", content="y"),
            FunctionCall(call_id="a", name="n", arguments="{}"),
        ],
        [
            FunctionCall(call_id="a", name="n", arguments="{}"),
            Message(role="assistant", content="after"),
            Reasoning(id="r"),
            FunctionCallOutput(call_id="a", output="o"),
        ],
        [Reasoning(id="r")],
    ],
)
def test_render_and_list_agree_on_edge_orders(items: list[Any]) -> None:
    fragments = [chat_fragment(i) for i in items]
    assert orjson.loads(render_messages(fragments, "s")) == items_to_messages(items, "s")
    assert all(isinstance(f, ChatFragment) for f in fragments)


def test_tools_to_chat() -> None:
    responses_tool = {
        "type": "function",
        "name": "read_file",
        "description": "Read a file",
        "strict": True,
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    }
    chat = tools_to_chat([responses_tool, {"type": "function", "name": "bare"}])
    assert chat == [
        {
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file",
                "parameters": responses_tool["parameters"],
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "bare"}},
    ]
    TOOLS.validate_python(chat)
    assert tools_to_chat(chat) == chat  # already chat-shaped: unchanged
    with pytest.raises(ConfigurationError):
        tools_to_chat([{"type": "web_search"}])
    with pytest.raises(ConfigurationError):
        tools_to_chat([{"type": "function"}])


# ----------------------------------------------------------------------------------- assembler

HEAD = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1761000000,
    "model": "gpt-oss-120b",
    "system_fingerprint": "fp_x",
}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}}
    if finish:
        choice["finish_reason"] = finish
    return orjson.dumps({**HEAD, "choices": [choice], **extra})


def tc(index: int, args: str | None = None, id: str | None = None, name: str | None = None) -> Any:
    fn: dict[str, Any] = {}
    if name is not None:
        fn["name"] = name
    if args is not None:
        fn["arguments"] = args
    frag: dict[str, Any] = {"index": index, "type": "function", "function": fn}
    if id is not None:
        frag["id"] = id
    return frag


def run(chunks: list[bytes]) -> list[list[ServerEvent]]:
    asm = ChatStreamAssembler()
    return [asm.feed_bytes(c) for c in chunks]


USAGE = {
    "prompt_tokens": 812,
    "completion_tokens": 19,
    "total_tokens": 831,
    "prompt_tokens_details": {"cached_tokens": 768},
    "completion_tokens_details": {"reasoning_tokens": 4},
}

# protocol.md §9.3, including the Cerebras repeat of the complete arguments.
CEREBRAS = [
    chunk({"role": "assistant"}),
    chunk({"tool_calls": [tc(0, "", id="call_a", name="read_file")]}),
    chunk({"tool_calls": [tc(0, '{"path":')]}),
    chunk({"tool_calls": [tc(0, '"a.py"}')]}),
    chunk({"tool_calls": [tc(0, '{"path":"a.py"}', id="call_a", name="read_file")]}),
    chunk({}, "tool_calls", usage=USAGE, time_info={"total_time": 0.02}),
    b"[DONE]",
]


def test_cerebras_stream_with_quirk() -> None:
    per_chunk = run(CEREBRAS)
    events = [e for batch in per_chunk for e in batch]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created = per_chunk[0][0]
    assert isinstance(created, ResponseCreated) and created.response.id == "chatcmpl-1"
    assert created.response.model == "gpt-oss-120b"
    added = per_chunk[1][0]
    assert isinstance(added, OutputItemAdded) and isinstance(added.item, FunctionCall)
    assert (added.item.call_id, added.item.name) == ("call_a", "read_file")
    assert per_chunk[4] == []  # the repeat replaces (equal): no delta, no doubled JSON
    done_batch = per_chunk[5]
    assert [type(e) for e in done_batch] == [FunctionCallArgumentsDone, OutputItemDone]
    done = done_batch[1]
    assert isinstance(done, OutputItemDone)
    assert done.item == FunctionCall(
        id=done.item.id,
        call_id="call_a",
        name="read_file",
        arguments='{"path":"a.py"}',
        status="completed",
    )
    deltas = "".join(e.delta for e in events if isinstance(e, FunctionCallArgumentsDelta))
    assert deltas == '{"path":"a.py"}'
    (terminal,) = per_chunk[6]
    assert isinstance(terminal, ResponseCompleted)
    assert terminal.response.status == "completed"
    assert terminal.response.output == [done.item]
    usage = terminal.response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (812, 19, 831)
    assert usage.input_tokens_details is not None
    assert usage.input_tokens_details.cached_tokens == 768
    assert usage.output_tokens_details is not None
    assert usage.output_tokens_details.reasoning_tokens == 4
    assert terminal.response.model_extra == {"time_info": {"total_time": 0.02}}


def test_cerebras_repeat_with_different_text_replaces() -> None:
    per_chunk = run(
        [
            chunk({"tool_calls": [tc(0, '{"a":1}', id="c", name="f")]}),
            chunk({"tool_calls": [tc(0, '{"a": 2}', id="c", name="f")]}),
            chunk({}, "tool_calls"),
        ]
    )
    done = per_chunk[2][-1]
    assert isinstance(done, OutputItemDone) and isinstance(done.item, FunctionCall)
    assert done.item.arguments == '{"a": 2}'


def test_id_on_every_fragment_still_appends() -> None:
    per_chunk = run(
        [
            chunk({"tool_calls": [tc(0, '{"a":', id="c", name="f")]}),
            chunk({"tool_calls": [tc(0, "1}", id="c")]}),
            chunk({}, "stop"),
        ]
    )
    done = per_chunk[2][-1]
    assert isinstance(done, OutputItemDone) and isinstance(done.item, FunctionCall)
    assert done.item.arguments == '{"a":1}'


def test_parallel_calls_complete_before_the_stream_ends() -> None:
    per_chunk = run(
        [
            chunk({"role": "assistant", "content": "Let me look."}),
            chunk({"tool_calls": [tc(0, '{"p":', id="c0", name="read")]}),
            chunk({"tool_calls": [tc(0, '"a"}'), tc(1, "", id="c1", name="grep")]}),
            chunk({"tool_calls": [tc(1, '{"q":"x"}')]}),
            chunk({"tool_calls": [tc(0, '{"p":"a"}', id="c0", name="read")]}),  # late repeat
            chunk({"tool_calls": [tc(2, '{"z":0}', id="c2", name="ls")]}),
            chunk({}, "tool_calls"),
            orjson.dumps({**HEAD, "choices": [], "usage": USAGE}),  # include_usage chunk
            b"data: [DONE]"[6:],
        ]
    )
    # The text item closes when the first call starts.
    kinds = [type(e) for e in per_chunk[0]]
    assert kinds == [ResponseCreated, OutputItemAdded, ContentPartAdded, OutputTextDelta]
    assert OutputItemDone in [type(e) for e in per_chunk[1]]  # message done
    # Call 0 completes in the chunk where index 1 starts, before the stream ends.
    done0 = [e for e in per_chunk[2] if isinstance(e, OutputItemDone)]
    assert len(done0) == 1 and isinstance(done0[0].item, FunctionCall)
    assert done0[0].item.call_id == "c0" and done0[0].item.arguments == '{"p":"a"}'
    assert per_chunk[4] == []  # the repeat of a completed call is ignored
    done1 = [e for e in per_chunk[5] if isinstance(e, OutputItemDone)]
    assert [d.item.call_id for d in done1 if isinstance(d.item, FunctionCall)] == ["c1"]
    done2 = [e for e in per_chunk[6] if isinstance(e, OutputItemDone)]
    assert [d.output_index for d in done2] == [3]
    assert per_chunk[7] == []
    (terminal,) = per_chunk[8]
    assert isinstance(terminal, ResponseCompleted) and terminal.response.output is not None
    out = terminal.response.output
    assert isinstance(out[0], Message) and out[0].content == [OutputText(text="Let me look.")]
    assert [i.call_id for i in out[1:] if isinstance(i, FunctionCall)] == ["c0", "c1", "c2"]
    assert terminal.response.usage is not None and terminal.response.usage.input_tokens == 812
    # Every output index was announced once, in order.
    events = [e for b in per_chunk for e in b]
    added = [e.output_index for e in events if isinstance(e, OutputItemAdded)]
    assert added == [0, 1, 2, 3]
    # The assembled output converts back into valid chat messages.
    _sdk_valid(items_to_messages(out))


def test_interleaved_fragment_for_a_completed_call_is_an_error() -> None:
    asm = ChatStreamAssembler()
    asm.feed_bytes(chunk({"tool_calls": [tc(0, '{"a":', id="c0", name="f")]}))
    asm.feed_bytes(chunk({"tool_calls": [tc(1, "{}", id="c1", name="g")]}))
    with pytest.raises(RemoteProtocolError, match="continued after it completed"):
        asm.feed_bytes(chunk({"tool_calls": [tc(0, "1}")]}))


def test_length_gives_incomplete_and_reasoning_deltas() -> None:
    per_chunk = run(
        [
            chunk({"reasoning": "think"}),
            chunk({"reasoning_content": "ing"}),
            chunk({"content": "partial"}),
            chunk({}, "length"),
            b"[DONE]",
        ]
    )
    events = [e for b in per_chunk for e in b]
    reasoning = [e.delta for e in events if isinstance(e, ReasoningTextDelta)]
    assert reasoning == ["think", "ing"]
    terminal = events[-1]
    assert isinstance(terminal, ResponseIncomplete)
    assert terminal.response.incomplete_details == {"reason": "max_output_tokens"}
    out = terminal.response.output
    assert out is not None and isinstance(out[0], Reasoning)
    assert out[0].model_extra is not None
    assert out[0].model_extra["content"] == [{"type": "reasoning_text", "text": "thinking"}]
    assert isinstance(out[1], Message)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(429, RateLimitError), (400, BadRequestError), (503, ServerError), (None, APIError)],
)
def test_error_chunk_raises_api_error(status: int | None, cls: type[APIError]) -> None:
    asm = ChatStreamAssembler()
    asm.feed_bytes(chunk({"content": "x"}))
    body: dict[str, Any] = {
        "error": {"message": "slow down", "type": "too_many_requests_error", "code": 429}
    }
    if status is not None:
        body["status_code"] = status
    with pytest.raises(cls) as info:
        asm.feed_bytes(orjson.dumps(body))
    assert type(info.value) is cls or status is None
    assert info.value.status == status and info.value.message == "slow down"
    assert info.value.code == "429"


def test_misuse_and_malformed() -> None:
    with pytest.raises(RemoteProtocolError):
        ChatStreamAssembler().feed_bytes(b"[DONE]")  # no chunk at all
    asm = ChatStreamAssembler()
    asm.feed_bytes(chunk({"content": "x"}))
    asm.feed_bytes(b"[DONE]")
    assert asm.finished and asm.finish() == []
    with pytest.raises(RemoteProtocolError, match="after the end"):
        asm.feed_bytes(chunk({"content": "y"}))
    with pytest.raises(RemoteProtocolError, match="not valid JSON") as info:
        ChatStreamAssembler().feed_bytes(b"{nope")
    assert info.value.raw == b"{nope"


# ------------------------------------------------------------------------------------ fuzzing

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _drive(chunks: list[bytes]) -> None:
    asm = ChatStreamAssembler()
    try:
        for c in chunks:
            asm.feed_bytes(c)
        asm.finish()
    except (RemoteProtocolError, APIError):
        pass


@FUZZ
@given(st.lists(st.binary(max_size=80), max_size=6))
def test_fuzz_random_bytes(chunks: list[bytes]) -> None:
    _drive(chunks)


@FUZZ
@given(st.lists(json_values, max_size=6))
def test_fuzz_random_json(values: list[Any]) -> None:
    _drive([json.dumps(v).encode() for v in values])


@FUZZ
@given(st.data())
def test_fuzz_mutated_stream(data: st.DataObject) -> None:
    chunks = [orjson.loads(c) if c != b"[DONE]" else c for c in CEREBRAS]
    i = data.draw(st.integers(0, len(chunks) - 2))
    target = chunks[i]
    assert isinstance(target, dict)
    path = [target]
    node: Any = target
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        node = node[data.draw(st.sampled_from(keys))]
        path.append(node)
    parent = path[-2] if len(path) > 1 else target
    if isinstance(parent, dict) and parent:
        key = data.draw(st.sampled_from(sorted(parent)))
        if data.draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = data.draw(json_values)
    raw = [json.dumps(c).encode() if isinstance(c, dict) else c for c in chunks]
    cut = data.draw(st.integers(0, len(raw[i])))
    _drive(raw)
    _drive([*raw[:i], raw[i][:cut]])
