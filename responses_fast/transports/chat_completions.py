"""Any OpenAI-compatible Chat Completions server (vLLM, llama.cpp, Ollama, ...): ``POST
{base}/chat/completions`` with ``stream: true``.

Chat Completions is stateless, so every request carries the whole conversation. It is still
assembled by a join: each item's chat rendering is serialized once and cached next to the item
(``LoggedItem.extra["chat"]``), so a turn serializes only its new items. The streamed chunks go
through :class:`~responses_fast.protocol.chat.ChatStreamAssembler`, which emits the same Responses
events as the WebSocket and HTTP transports: a tool call's ``response.output_item.done`` comes as
soon as the call is complete, so the session starts the tool before the stream ends.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ..cache.render import LoggedItem
from ..config import Timeouts
from ..errors import ConnectionLost
from ..protocol.chat import (
    ChatFragment,
    ChatStreamAssembler,
    chat_fragment,
    render_messages,
    tools_to_chat,
)
from ..protocol.client_events import render_fields
from ..protocol.server_events import ServerEvent, UnknownEvent
from ._errors import check_base_url
from ._http import PooledHttpTransport, drain, sse_batches, streamed_post
from .base import RequestSettings, SettingsMemo, TransportStats, TurnRequest

__all__ = [
    "ChatCompletionsTransport",
    "chat_body_fields",
    "chat_messages",
    "chat_stream_events",
    "chat_url",
]

log = logging.getLogger("responses_fast.transports.chat_completions")

_DONE = b"[DONE]"
_EXTRA_KEY = "chat"
# The cached fragment is stored as bytes in LoggedItem.extra: one kind byte, then the data.
_KIND_BYTE = {"message": b"m", "assistant": b"a", "call": b"c", "skip": b"s"}
_BYTE_KIND: dict[int, Any] = {v[0]: k for k, v in _KIND_BYTE.items()}
#: Responses body fields that keep their name in Chat Completions.
_PASS_THROUGH = frozenset(
    {
        "temperature",
        "top_p",
        "seed",
        "stop",
        "user",
        "service_tier",
        "prompt_cache_key",
        "metadata",
        "max_completion_tokens",
        "reasoning_effort",
        "response_format",
        "logprobs",
        "top_logprobs",
        "frequency_penalty",
        "presence_penalty",
    }
)


def chat_url(base_url: str) -> str:
    """``http://host/v1`` -> ``http://host/v1/chat/completions`` (a full URL is kept).

    A malformed ``base_url`` raises ConfigurationError.
    """
    check_base_url(base_url, ("http", "https"))
    base = base_url.rstrip("/")
    return base if base.endswith("/chat/completions") else base + "/chat/completions"


def _fragment(entry: LoggedItem) -> ChatFragment:
    cached = entry.extra.get(_EXTRA_KEY)
    if cached is None:
        frag = chat_fragment(entry.item)  # type: ignore[arg-type]
        entry.extra[_EXTRA_KEY] = _KIND_BYTE[frag.kind] + frag.data
        return frag
    return ChatFragment(_BYTE_KIND[cached[0]], cached[1:])


def _fragments(items: Sequence[LoggedItem]) -> Iterator[ChatFragment]:
    for entry in items:
        yield _fragment(entry)


def chat_messages(items: Sequence[LoggedItem], instructions: str | None) -> bytes:
    """The ``messages`` array of a request, joined from per-item cached fragments."""
    return render_messages(_fragments(items), instructions)


def chat_body_fields(settings: RequestSettings, *, include_usage: bool = True) -> dict[str, Any]:
    """The fixed part of a chat request (everything but ``messages``) from Responses settings.

    ``tools`` and ``tool_choice`` are converted; ``max_output_tokens`` becomes
    ``max_completion_tokens`` and ``reasoning.effort`` becomes ``reasoning_effort``; known chat
    fields in ``settings.extra`` pass through and Responses-only fields (``store``, ``include``,
    ``truncation``, ...) are dropped.
    """
    fields: dict[str, Any] = {"model": settings.model, "stream": True}
    if include_usage:
        fields["stream_options"] = {"include_usage": True}
    if settings.tools:
        fields["tools"] = tools_to_chat(settings.tools)
        choice = settings.tool_choice
        if isinstance(choice, Mapping) and choice.get("type") == "function" and "name" in choice:
            choice = {"type": "function", "function": {"name": choice["name"]}}
        if choice is not None:
            fields["tool_choice"] = choice
        if settings.parallel_tool_calls is not None:
            fields["parallel_tool_calls"] = settings.parallel_tool_calls
    if settings.prompt_cache_key is not None:
        fields["prompt_cache_key"] = settings.prompt_cache_key
    for key, value in settings.extra:
        if key == "max_output_tokens":
            fields["max_completion_tokens"] = value
        elif key == "reasoning" and isinstance(value, Mapping):
            if value.get("effort") is not None:
                fields["reasoning_effort"] = value["effort"]
        elif key in _PASS_THROUGH:
            fields[key] = value
    return fields


class ChatCompletionsTransport(PooledHttpTransport):
    """Chat Completions streaming over one pooled keep-alive HTTP connection.

    Args:
        base_url: the server's API base (``http://localhost:8000/v1``); a URL ending in
            ``/chat/completions`` is used as is.
        api_key: sent as ``Authorization: Bearer`` when given (most local servers need none).
        timeouts: connect/read timeouts.
        headers: extra headers for every request.
        ssl_context: verifies ``https`` servers (None: the system CAs).
        include_usage: ask for the final usage chunk (``stream_options.include_usage``); turn it
            off for servers that reject ``stream_options``.
    """

    name = "chat"
    stateful = False

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeouts: Timeouts | None = None,
        headers: Mapping[str, str] | None = None,
        include_usage: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(api_key, timeouts=timeouts, headers=headers, ssl_context=ssl_context)
        self.url = chat_url(base_url)
        self.base_url = self.url[: -len("/chat/completions")]
        self._include_usage = include_usage
        self._prefix = SettingsMemo(
            lambda s: render_fields(chat_body_fields(s, include_usage=include_usage))
        )

    def body_for(self, request: TurnRequest) -> bytes:
        """``{<fixed fields>,"messages":[...]}``: cached prefix + cached per-item fragments."""
        settings = request.settings
        messages = chat_messages(request.items, settings.instructions)
        self.stats.count_body(len(request.items), incremental=False)
        return b"{" + self._prefix(settings) + b',"messages":' + messages + b"}"

    @asynccontextmanager
    async def open_turn(
        self, request: TurnRequest
    ) -> AsyncIterator[AsyncIterator[ServerEvent | UnknownEvent]]:
        body = self.body_for(request)
        async with streamed_post(self._http(), self.url, body, self.stats) as response:
            events = chat_stream_events(
                response, self.stats, self._timeouts.close, want_deltas=request.want_deltas
            )
            try:
                yield events
            finally:
                await events.aclose()


async def chat_stream_events(
    response: httpx.Response,
    stats: TransportStats,
    close_timeout: float,
    *,
    want_deltas: bool = True,
) -> AsyncGenerator[ServerEvent | UnknownEvent, None]:
    """A streaming Chat Completions response as Responses-style events.

    The body is read to its end (drained after ``finish_reason``, within ``close_timeout``) so
    the keep-alive connection goes back to the pool for the next turn. Without ``want_deltas``
    no delta events are built (the items are assembled all the same).
    """
    assembler = ChatStreamAssembler(emit_deltas=want_deltas)
    batches = sse_batches(response, stats)
    try:
        async for batch in batches:
            for message in batch:
                data = message.data
                if data.strip() == _DONE:
                    out = assembler.finish()
                else:
                    out = assembler.feed_bytes(data)
                stats.events_received += 1
                for event in out:
                    yield event
                if assembler.finished:
                    await drain(batches, close_timeout)
                    return
        # Some servers end the body without [DONE]; a stream that reached finish_reason is
        # complete, anything else was cut off.
        if assembler.finish_reason is not None:
            for event in assembler.finish():
                yield event
            return
        raise ConnectionLost("the chat stream ended before finish_reason")
    finally:
        await batches.aclose()
