"""The Chat Completions dialect (OpenAI-compatible servers, Cerebras), mapped onto Responses terms.

Requests: :func:`items_to_messages` turns Responses items into chat ``messages``;
:func:`chat_fragment` + :func:`render_messages` do the same to bytes, reusing a per-item cached
fragment so a transport never re-serializes the history; :func:`tools_to_chat` converts tools.

Responses: :class:`ChatStreamAssembler` turns ``chat.completion.chunk`` objects into the Responses
server events of :mod:`.server_events`, so a session consumes one vocabulary on every transport.
A tool call's ``response.output_item.done`` is emitted as soon as the call is complete (the next
call index starts or ``finish_reason`` arrives), before the stream ends.

Mapping (Responses item -> chat message):

=================================  ================================================================
``message`` (system/developer/user) ``{"role": role, "content": text}`` (text parts joined)
``message`` (assistant)             ``{"role": "assistant", "content": text}``; function calls that
                                    follow it in the same model turn join it as ``tool_calls``
``function_call`` (consecutive)     one ``{"role": "assistant", "content": null,
                                    "tool_calls": [...]}``
``function_call_output``            ``{"role": "tool", "tool_call_id": call_id, "content": output}``
``reasoning`` / unknown items       skipped (no Chat Completions equivalent)
=================================  ================================================================

A "model turn" is a run of assistant messages, function calls and reasoning items with no user,
developer, system or tool message between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from responses_fast.errors import ConfigurationError, RemoteProtocolError, api_error_for_status

from .items import (
    FunctionCall,
    FunctionCallOutput,
    Item,
    Message,
    OutputText,
    Reasoning,
    item_adapter,
    item_text,
)
from .server_events import (
    ContentPartAdded,
    ContentPartDone,
    FunctionCallArgumentsDelta,
    FunctionCallArgumentsDone,
    InputTokensDetails,
    OutputItemAdded,
    OutputItemDone,
    OutputTextDelta,
    OutputTextDone,
    OutputTokensDetails,
    ReasoningTextDelta,
    ResponseCompleted,
    ResponseCreated,
    ResponseIncomplete,
    ResponseObject,
    ServerEvent,
    Usage,
)

__all__ = [
    "ChatFragment",
    "ChatStreamAssembler",
    "chat_fragment",
    "items_to_messages",
    "render_messages",
    "tools_to_chat",
    "usage_from_chat",
]


# --------------------------------------------------------------------------------------- requests


def _as_item(item: Item | Mapping[str, Any]) -> Item:
    if isinstance(item, Mapping):
        return item_adapter.validate_python(dict(item))
    return item


def _output_text(output: str | list[Any]) -> str:
    """A function_call_output's ``output`` as chat ``content`` (text parts joined)."""
    if isinstance(output, str):
        return output
    texts = []
    for part in output:
        if isinstance(part, Mapping):
            text = part.get("text")
            if isinstance(text, str):
                texts.append(text)
        elif isinstance(part, str):
            texts.append(part)
    return "".join(texts)


def items_to_messages(
    items: Iterable[Item | Mapping[str, Any]], instructions: str | None = None
) -> list[dict[str, Any]]:
    """Responses items -> Chat Completions ``messages`` (see the module docstring for the map).

    ``instructions`` becomes the first (system) message. Items may be models or plain dicts.
    """
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    turn: dict[str, Any] | None = None  # the open assistant message of the current model turn
    for raw in items:
        item = _as_item(raw)
        if isinstance(item, Message):
            text = item_text(item)
            if item.role == "assistant":
                turn = {"role": "assistant", "content": text}
                messages.append(turn)
            else:
                turn = None
                messages.append({"role": item.role, "content": text})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            if turn is None:
                turn = {"role": "assistant", "content": None, "tool_calls": [call]}
                messages.append(turn)
            else:
                turn.setdefault("tool_calls", []).append(call)
        elif isinstance(item, FunctionCallOutput):
            turn = None
            messages.append(
                {"role": "tool", "tool_call_id": item.call_id, "content": _output_text(item.output)}
            )
        # Reasoning and unknown items: skipped, and they do not end the model turn.
    return messages


@dataclass(slots=True, frozen=True)
class ChatFragment:
    """One item's chat rendering, serialized once and cached by the caller next to the item.

    ``kind`` is ``"message"`` (``data`` is a whole message object), ``"assistant"`` (``data`` is the
    JSON string of an assistant message's text, which may absorb following calls), ``"call"``
    (``data`` is one ``tool_calls`` entry) or ``"skip"`` (reasoning, unknown items).
    """

    kind: Literal["message", "assistant", "call", "skip"]
    data: bytes = b""


_SKIP = ChatFragment("skip")


def chat_fragment(item: Item | Mapping[str, Any]) -> ChatFragment:
    """Serialize one item for :func:`render_messages` (do it once per item and keep the result)."""
    item = _as_item(item)
    if isinstance(item, Message):
        text = item_text(item)
        if item.role == "assistant":
            return ChatFragment("assistant", orjson.dumps(text))
        return ChatFragment("message", orjson.dumps({"role": item.role, "content": text}))
    if isinstance(item, FunctionCall):
        call = {
            "id": item.call_id,
            "type": "function",
            "function": {"name": item.name, "arguments": item.arguments},
        }
        return ChatFragment("call", orjson.dumps(call))
    if isinstance(item, FunctionCallOutput):
        msg = {"role": "tool", "tool_call_id": item.call_id, "content": _output_text(item.output)}
        return ChatFragment("message", orjson.dumps(msg))
    return _SKIP


def _assistant(content: bytes | None, calls: list[bytes]) -> bytes:
    out = b'{"role":"assistant","content":' + (content if content is not None else b"null")
    if calls:
        out += b',"tool_calls":[' + b",".join(calls) + b"]"
    return out + b"}"


def render_messages(fragments: Iterable[ChatFragment], instructions: str | None = None) -> bytes:
    """The ``messages`` JSON array built from cached fragments: a join, no JSON walk of the history.

    Merging consecutive calls into one assistant message is why fragments are not whole messages:
    whether a call opens a message or joins one depends on its neighbours, so the merge is done
    here, by concatenating the cached bytes. The result equals
    ``orjson.dumps(items_to_messages(items, instructions))``.
    """
    parts: list[bytes] = []
    if instructions:
        parts.append(orjson.dumps({"role": "system", "content": instructions}))
    content: bytes | None = None
    calls: list[bytes] = []
    open_turn = False
    for frag in fragments:
        kind = frag.kind
        if kind == "call":
            open_turn = True
            calls.append(frag.data)
        elif kind == "assistant":
            if open_turn:
                parts.append(_assistant(content, calls))
            content, calls, open_turn = frag.data, [], True
        elif kind == "message":
            if open_turn:
                parts.append(_assistant(content, calls))
                content, calls, open_turn = None, [], False
            parts.append(frag.data)
    if open_turn:
        parts.append(_assistant(content, calls))
    return b"[" + b",".join(parts) + b"]"


def tools_to_chat(tools: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Responses function tools -> Chat Completions tools.

    ``{type:"function", name, description?, parameters?, strict?}`` becomes
    ``{type:"function", function:{name, description?, parameters?, strict?}}``; a tool already in
    chat shape passes through. A hosted tool (web_search, ...) has no chat form: ConfigurationError.
    """
    out: list[dict[str, Any]] = []
    for tool in tools:
        kind = tool.get("type", "function")
        if kind != "function":
            raise ConfigurationError(f"tool type {kind!r} has no Chat Completions equivalent")
        if isinstance(tool.get("function"), Mapping):
            out.append(dict(tool))
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError("a function tool needs a 'name'")
        fn: dict[str, Any] = {"name": name}
        for key in ("description", "parameters", "strict"):
            if tool.get(key) is not None:
                fn[key] = tool[key]
        out.append({"type": "function", "function": fn})
    return out


# -------------------------------------------------------------------------------------- responses


def usage_from_chat(usage: Mapping[str, Any]) -> Usage:
    """Chat ``usage`` -> Responses :class:`Usage` (prompt->input, completion->output, cached)."""
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    total = _int(usage.get("total_tokens")) or prompt + completion
    pdet = usage.get("prompt_tokens_details")
    cdet = usage.get("completion_tokens_details")
    cached = _int(pdet.get("cached_tokens")) if isinstance(pdet, Mapping) else 0
    reasoning = _int(cdet.get("reasoning_tokens")) if isinstance(cdet, Mapping) else 0
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=total,
        input_tokens_details=InputTokensDetails(cached_tokens=cached),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning),
    )


def _int(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise RemoteProtocolError(f"chat usage count is not an integer: {value!r:.40}")
    return value


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(slots=True)
class _Call:
    index: int
    output_index: int
    item_id: str
    call_id: str
    name: str
    arguments: list[str] = field(default_factory=list)
    size: int = 0
    done: bool = False
    final: str = ""


@dataclass(slots=True)
class _Text:
    output_index: int
    item_id: str
    parts: list[str] = field(default_factory=list)


_DONE = b"[DONE]"
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


class ChatStreamAssembler:
    """Turns a Chat Completions stream into Responses server events (no I/O).

    Feed each chunk (a parsed dict with :meth:`feed`, or the SSE ``data`` bytes with
    :meth:`feed_bytes`, which also handles ``[DONE]``); each call returns the events it completes.
    :meth:`finish` (called by ``[DONE]``) closes what is open and returns the terminal
    ``response.completed`` (``response.incomplete`` for ``finish_reason`` ``length`` or
    ``content_filter``), whose ``response.output`` lists the items and carries the usage.

    Only choice 0 is followed. An error chunk ``{"error": {...}, "status_code": N}`` raises the
    :class:`~responses_fast.errors.APIError` subclass for ``N``; anything malformed raises
    :class:`~responses_fast.errors.RemoteProtocolError`. A tool-call fragment for a call that was
    already completed (emitted) raises too, except the Cerebras repeat (same id, the complete
    arguments again), which is a replacement and ignored when it equals what was emitted.
    """

    __slots__ = (
        "_calls",
        "_created",
        "_current_call",
        "_finish_reason",
        "_finished",
        "_model",
        "_output",
        "_reasoning",
        "_response_id",
        "_seq",
        "_text",
        "_time_info",
        "_usage",
        "emit_deltas",
        "max_arguments_bytes",
    )

    def __init__(
        self, *, max_arguments_bytes: int = 16 * 1024 * 1024, emit_deltas: bool = True
    ) -> None:
        self._response_id = ""
        self._model: str | None = None
        self._created: float | None = None
        self._seq = 0
        self._output: list[Item] = []  # done items, in output_index order of completion
        self._calls: dict[int, _Call] = {}
        self._current_call: _Call | None = None
        self._text: _Text | None = None
        self._reasoning: _Text | None = None
        self._finish_reason: str | None = None
        self._usage: Usage | None = None
        self._time_info: Any = None
        self._finished = False
        self.max_arguments_bytes = max_arguments_bytes
        #: False: no ``*.delta`` events are built (the caller reads only whole items; an event
        #: model costs a few microseconds per chunk). The items are assembled all the same.
        self.emit_deltas = emit_deltas

    # -- public --------------------------------------------------------------------------------

    @property
    def response_id(self) -> str:
        """The synthesized response id (the first chunk's ``id``); empty before the first chunk."""
        return self._response_id

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def finish_reason(self) -> str | None:
        return self._finish_reason

    def feed_bytes(self, data: bytes | str) -> list[ServerEvent]:
        """Feed one SSE ``data`` payload; ``[DONE]`` finishes the stream."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        stripped = data.strip()
        if stripped == _DONE:
            return self.finish()
        try:
            chunk = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise RemoteProtocolError(f"chat chunk is not valid JSON ({exc})", raw=data) from None
        return self.feed(chunk, raw=data)

    def feed(self, chunk: Any, *, raw: bytes | None = None) -> list[ServerEvent]:
        """Feed one parsed ``chat.completion.chunk``; returns the events it produces."""
        if self._finished:
            raise RemoteProtocolError("chat chunk after the end of the stream", raw=raw)
        if not isinstance(chunk, Mapping):
            raise RemoteProtocolError("chat chunk must be a JSON object", raw=raw)
        if chunk.get("error"):
            raise self._api_error(chunk)
        out: list[ServerEvent] = []
        try:
            if not self._response_id:
                self._start(chunk, out)
            choices = chunk.get("choices")
            if choices:
                if not isinstance(choices, list):
                    raise RemoteProtocolError("chat chunk 'choices' must be a list", raw=raw)
                for choice in choices:
                    if not isinstance(choice, Mapping):
                        raise RemoteProtocolError("chat choice must be an object", raw=raw)
                    if choice.get("index", 0) == 0:
                        self._choice(choice, out)
            usage = chunk.get("usage")
            if usage is not None:
                if not isinstance(usage, Mapping):
                    raise RemoteProtocolError("chat chunk 'usage' must be an object", raw=raw)
                self._usage = usage_from_chat(usage)
            if chunk.get("time_info") is not None:
                self._time_info = chunk["time_info"]
        except RemoteProtocolError as exc:
            if exc.raw is None and raw is not None:
                raise RemoteProtocolError(str(exc), raw=raw) from None
            raise
        except ValidationError as exc:  # an impossible value reached an event model
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            loc = ".".join(str(p) for p in errors[0]["loc"]) if errors else "?"
            raise RemoteProtocolError(f"malformed chat chunk: {loc}", raw=raw) from None
        return out

    def finish(self) -> list[ServerEvent]:
        """End of stream (``[DONE]``): close open items, return the terminal event."""
        if self._finished:
            return []
        if not self._response_id:
            raise RemoteProtocolError("chat stream ended before its first chunk")
        out: list[ServerEvent] = []
        self._close_all(out)
        self._finished = True
        extra: dict[str, Any] = {}
        if self._time_info is not None:
            extra["time_info"] = self._time_info
        reason = _INCOMPLETE.get(self._finish_reason or "")
        response = ResponseObject(
            id=self._response_id,
            status="incomplete" if reason else "completed",
            model=self._model,
            created_at=self._created,
            output=list(self._output),
            usage=self._usage,
            incomplete_details={"reason": reason} if reason else None,
            **extra,
        )
        if reason:
            out.append(
                ResponseIncomplete(
                    type="response.incomplete", sequence_number=self._next(), response=response
                )
            )
        else:
            out.append(
                ResponseCompleted(
                    type="response.completed", sequence_number=self._next(), response=response
                )
            )
        return out

    # -- internals ------------------------------------------------------------------------------

    def _next(self) -> int:
        seq = self._seq
        self._seq = seq + 1
        return seq

    @staticmethod
    def _api_error(chunk: Mapping[str, Any]) -> Exception:
        err = chunk["error"]
        status = chunk.get("status_code")
        if not isinstance(status, int) or isinstance(status, bool):
            status = None
        if isinstance(err, Mapping):
            message = err.get("message")
            return api_error_for_status(
                status,
                str(message) if message is not None else "error in chat stream",
                code=_str_or_none(err.get("code")),
                type=_str_or_none(err.get("type")),
                param=_str_or_none(err.get("param")),
            )
        return api_error_for_status(status, str(err))

    def _start(self, chunk: Mapping[str, Any], out: list[ServerEvent]) -> None:
        cid = chunk.get("id")
        self._response_id = cid if isinstance(cid, str) and cid else "chatcmpl"
        model = chunk.get("model")
        self._model = model if isinstance(model, str) else None
        created = chunk.get("created")
        if isinstance(created, int | float) and not isinstance(created, bool):
            self._created = float(created)
        response = ResponseObject(
            id=self._response_id,
            status="in_progress",
            model=self._model,
            created_at=self._created,
            output=[],
        )
        out.append(
            ResponseCreated(
                type="response.created", sequence_number=self._next(), response=response
            )
        )

    def _choice(self, choice: Mapping[str, Any], out: list[ServerEvent]) -> None:
        delta = choice.get("delta")
        if delta is not None:
            if not isinstance(delta, Mapping):
                raise RemoteProtocolError("chat 'delta' must be an object")
            reasoning = delta.get("reasoning")
            if reasoning is None:
                reasoning = delta.get("reasoning_content")
            if reasoning:
                if not isinstance(reasoning, str):
                    raise RemoteProtocolError("chat 'delta.reasoning' must be a string")
                self._reasoning_delta(reasoning, out)
            content = delta.get("content")
            if content:
                if not isinstance(content, str):
                    raise RemoteProtocolError("chat 'delta.content' must be a string")
                self._text_delta(content, out)
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                if not isinstance(tool_calls, list):
                    raise RemoteProtocolError("chat 'delta.tool_calls' must be a list")
                for frag in tool_calls:
                    self._tool_fragment(frag, out)
        reason = choice.get("finish_reason")
        if reason is not None:
            if not isinstance(reason, str):
                raise RemoteProtocolError("chat 'finish_reason' must be a string")
            self._finish_reason = reason
            self._close_all(out)

    # text and reasoning

    def _reasoning_delta(self, text: str, out: list[ServerEvent]) -> None:
        r = self._reasoning
        if r is None:
            self._close_text(out)
            self._close_call(out)
            idx = self._alloc_index()
            r = self._reasoning = _Text(idx, f"rs_{self._response_id}_{idx}")
            out.append(
                OutputItemAdded(
                    type="response.output_item.added",
                    sequence_number=self._next(),
                    output_index=idx,
                    item=Reasoning(**_reasoning_fields(r.item_id, "in_progress")),
                )
            )
        r.parts.append(text)
        if not self.emit_deltas:
            return
        out.append(
            ReasoningTextDelta(
                type="response.reasoning_text.delta",
                sequence_number=self._next(),
                item_id=r.item_id,
                output_index=r.output_index,
                delta=text,
            )
        )

    def _text_delta(self, text: str, out: list[ServerEvent]) -> None:
        t = self._text
        if t is None:
            self._close_reasoning(out)
            self._close_call(out)
            idx = self._alloc_index()
            t = self._text = _Text(idx, f"msg_{self._response_id}_{idx}")
            out.append(
                OutputItemAdded(
                    type="response.output_item.added",
                    sequence_number=self._next(),
                    output_index=idx,
                    item=Message(id=t.item_id, role="assistant", content=[], status="in_progress"),
                )
            )
            out.append(
                ContentPartAdded(
                    type="response.content_part.added",
                    sequence_number=self._next(),
                    item_id=t.item_id,
                    output_index=idx,
                    content_index=0,
                    part={"type": "output_text", "text": "", "annotations": []},
                )
            )
        t.parts.append(text)
        if not self.emit_deltas:
            return
        out.append(
            OutputTextDelta(
                type="response.output_text.delta",
                sequence_number=self._next(),
                item_id=t.item_id,
                output_index=t.output_index,
                content_index=0,
                delta=text,
            )
        )

    def _alloc_index(self) -> int:
        # At most one item is open at a time and it is closed before the next opens, so the next
        # output_index is the number of items already done.
        return len(self._output)

    def _close_reasoning(self, out: list[ServerEvent]) -> None:
        r = self._reasoning
        if r is None:
            return
        self._reasoning = None
        text = "".join(r.parts)
        fields = _reasoning_fields(r.item_id, "completed")
        fields["content"] = [{"type": "reasoning_text", "text": text}]
        item = Reasoning(**fields)
        self._done_item(r.output_index, item, out)

    def _close_text(self, out: list[ServerEvent]) -> None:
        t = self._text
        if t is None:
            return
        self._text = None
        text = "".join(t.parts)
        idx = t.output_index
        out.append(
            OutputTextDone(
                type="response.output_text.done",
                sequence_number=self._next(),
                item_id=t.item_id,
                output_index=idx,
                content_index=0,
                text=text,
            )
        )
        out.append(
            ContentPartDone(
                type="response.content_part.done",
                sequence_number=self._next(),
                item_id=t.item_id,
                output_index=idx,
                content_index=0,
                part={"type": "output_text", "text": text, "annotations": []},
            )
        )
        item = Message(
            id=t.item_id, role="assistant", status="completed", content=[OutputText(text=text)]
        )
        self._done_item(idx, item, out)

    def _done_item(self, idx: int, item: Item, out: list[ServerEvent]) -> None:
        self._output.append(item)
        out.append(
            OutputItemDone(
                type="response.output_item.done",
                sequence_number=self._next(),
                output_index=idx,
                item=item,
            )
        )

    # tool calls

    def _tool_fragment(self, frag: Any, out: list[ServerEvent]) -> None:
        if not isinstance(frag, Mapping):
            raise RemoteProtocolError("chat tool_calls entry must be an object")
        index = frag.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise RemoteProtocolError("chat tool_calls 'index' must be a non-negative integer")
        call_id = frag.get("id")
        if call_id is not None and not isinstance(call_id, str):
            raise RemoteProtocolError("chat tool_calls 'id' must be a string")
        fn = frag.get("function")
        if fn is None:
            fn = {}
        if not isinstance(fn, Mapping):
            raise RemoteProtocolError("chat tool_calls 'function' must be an object")
        name = fn.get("name")
        if name is not None and not isinstance(name, str):
            raise RemoteProtocolError("chat tool_calls 'function.name' must be a string")
        args = fn.get("arguments")
        if args is not None and not isinstance(args, str):
            raise RemoteProtocolError("chat tool_calls 'function.arguments' must be a string")

        call = self._calls.get(index)
        if call is None:
            self._open_call(index, call_id, name or "", args or "", out)
            return
        if call.done:
            # Cerebras repeats id + name + the complete arguments at the end (protocol.md §9.3).
            if call_id == call.call_id and args is not None and _same_json(args, call.final):
                return
            if not args and not name and (call_id is None or call_id == call.call_id):
                return  # an empty keep-alive fragment
            raise RemoteProtocolError(f"chat tool call index {index} continued after it completed")
        if name and not call.name:
            call.name = name
        if not args:
            return
        if call_id is not None and call_id == call.call_id and call.arguments:
            accumulated = "".join(call.arguments)
            if _is_json_object(args) and _is_json_object(accumulated):
                # The repeat is a replacement: appending a complete object to a complete object
                # can never give valid JSON.
                if not _same_json(args, accumulated):
                    call.arguments = [args]
                    call.size = len(args)
                return
        self._append_args(call, args, out)

    def _open_call(
        self, index: int, call_id: str | None, name: str, args: str, out: list[ServerEvent]
    ) -> None:
        self._close_text(out)
        self._close_reasoning(out)
        self._close_call(out)
        idx = self._alloc_index()
        call = _Call(
            index=index,
            output_index=idx,
            item_id=f"fc_{self._response_id}_{idx}",
            call_id=call_id or f"call_{self._response_id}_{index}",
            name=name,
        )
        self._calls[index] = call
        self._current_call = call
        out.append(
            OutputItemAdded(
                type="response.output_item.added",
                sequence_number=self._next(),
                output_index=idx,
                item=FunctionCall(
                    id=call.item_id,
                    call_id=call.call_id,
                    name=name,
                    arguments="",
                    status="in_progress",
                ),
            )
        )
        if args:
            self._append_args(call, args, out)

    def _append_args(self, call: _Call, args: str, out: list[ServerEvent]) -> None:
        call.arguments.append(args)
        call.size += len(args)
        if call.size > self.max_arguments_bytes:
            raise RemoteProtocolError("chat tool call arguments exceed the size limit")
        if not self.emit_deltas:
            return
        out.append(
            FunctionCallArgumentsDelta(
                type="response.function_call_arguments.delta",
                sequence_number=self._next(),
                item_id=call.item_id,
                output_index=call.output_index,
                delta=args,
            )
        )

    def _close_call(self, out: list[ServerEvent]) -> None:
        call = self._current_call
        if call is None:
            return
        self._current_call = None
        call.done = True
        call.final = "".join(call.arguments)
        call.arguments = []
        out.append(
            FunctionCallArgumentsDone(
                type="response.function_call_arguments.done",
                sequence_number=self._next(),
                item_id=call.item_id,
                output_index=call.output_index,
                arguments=call.final,
            )
        )
        item = FunctionCall(
            id=call.item_id,
            call_id=call.call_id,
            name=call.name,
            arguments=call.final,
            status="completed",
        )
        self._done_item(call.output_index, item, out)

    def _close_all(self, out: list[ServerEvent]) -> None:
        self._close_reasoning(out)
        self._close_text(out)
        self._close_call(out)


def _is_json_object(text: str) -> bool:
    if not text or text[0] != "{":
        return False
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


def _same_json(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return bool(orjson.loads(a) == orjson.loads(b))
    except orjson.JSONDecodeError:
        return False


def _reasoning_fields(item_id: str, status: str) -> dict[str, Any]:
    # status/content are not declared on Reasoning (extra="allow" keeps them)
    return {"id": item_id, "summary": [], "status": status}
