"""The seam between the agent loop and the network: one interface, four implementations.

A transport turns a :class:`TurnRequest` (the conversation log plus what is new since the last
response) into a stream of Responses-style server events. Every transport speaks the same event
vocabulary to the session (``protocol.server_events``); a Chat Completions transport translates
its chunks into it. Transports never retry: they raise errors from ``responses_fast.errors`` and
the session's retry loop decides (``transports.retry``).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..cache.render import LoggedItem
from ..protocol.server_events import ServerEvent, UnknownEvent

__all__ = ["RequestSettings", "SettingsMemo", "Transport", "TransportStats", "TurnRequest"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """What stays the same from turn to turn: rendered to bytes once per session."""

    model: str
    instructions: str | None = None
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    store: bool = False
    prompt_cache_key: str | None = None
    #: Other body fields passed through unchanged (reasoning, max_output_tokens, temperature, ...).
    extra: tuple[tuple[str, Any], ...] = ()

    def fields(self) -> dict[str, Any]:
        """The Responses body fields these settings contribute (None values dropped)."""
        out: dict[str, Any] = {
            "model": self.model,
            "instructions": self.instructions,
            "tools": list(self.tools) if self.tools else None,
            "tool_choice": self.tool_choice,
            "parallel_tool_calls": self.parallel_tool_calls,
            "store": self.store,
            "prompt_cache_key": self.prompt_cache_key,
        }
        out.update(self.extra)
        return {k: v for k, v in out.items() if v is not None}


@dataclass(slots=True)
class TurnRequest:
    """One model call.

    ``items`` is the whole conversation; ``items[new_from:]`` were never sent on a response chain
    that ``previous_response_id`` names. A stateful transport may send only the new items when the
    server still holds that response; otherwise it sends everything.
    """

    settings: RequestSettings
    items: Sequence[LoggedItem]
    new_from: int = 0
    previous_response_id: str | None = None
    #: Whether the caller reads the ``*.delta`` events. When False (``run()``) a transport may
    #: skip them unparsed and yield only the other events (they still count in ``stats``).
    want_deltas: bool = True


@dataclass(slots=True)
class TransportStats:
    """Counters a transport keeps for metrics and benchmarks."""

    connects: int = 0
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    events_received: int = 0
    last_request_items: int = 0
    last_request_bytes: int = 0
    incremental_requests: int = 0
    full_requests: int = 0

    def count_body(self, items_sent: int, *, incremental: bool) -> None:
        """A request body was built: ``items_sent`` items, continuing a chain or not."""
        if incremental:
            self.incremental_requests += 1
        else:
            self.full_requests += 1
        self.last_request_items = items_sent


class SettingsMemo(Generic[T]):
    """What a transport renders from the settings (its fixed body fields), computed once.

    Settings do not change between the turns of a session, so one slot keyed by the identity of
    the settings object is enough.
    """

    __slots__ = ("_render", "_settings", "_value")

    def __init__(self, render: Callable[[RequestSettings], T]) -> None:
        self._render = render
        self._settings: RequestSettings | None = None
        self._value: T | None = None

    def __call__(self, settings: RequestSettings) -> T:
        if self._settings is not settings or self._value is None:
            self._value = self._render(settings)
            self._settings = settings
        return self._value


class Transport(abc.ABC):
    """Interface every transport implements.

    ``open_turn`` sends the request and yields its events up to and including the terminal one
    (``response.completed``/``failed``/``incomplete``). An ``error`` event is raised as an
    :class:`~responses_fast.errors.APIError`, never yielded.
    """

    name: str = "transport"
    #: True when the server keeps response state on this connection (WebSocket mode).
    stateful: bool = False

    def __init__(self) -> None:
        self.stats = TransportStats()

    async def connect(self) -> None:  # noqa: B027 - optional hook
        """Open (and warm) the connection ahead of the first turn. Optional; idempotent."""

    async def warm(self) -> None:  # noqa: B027 - optional hook
        """Prepare the server for the first turn while the caller is idle. Optional."""

    @abc.abstractmethod
    def open_turn(
        self, request: TurnRequest
    ) -> AbstractAsyncContextManager[AsyncIterator[ServerEvent | UnknownEvent]]:
        """Send ``request``; the context yields its server events."""

    async def reset(self) -> None:  # noqa: B027 - optional hook
        """Drop the connection after a failure; the next turn reconnects."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close the connection cleanly."""
