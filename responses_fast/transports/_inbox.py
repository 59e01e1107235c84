"""Routing the messages of one socket to its lanes, and waking a lane's reader only when needed.

Runs inside the connection's read callback (``_socket.MessageSink``), once per message, so it
does no JSON parsing: it peeks at the ``type`` tag the server writes first (``{"type":"..."``),
finds the lane by the ``"stream_id":"..."`` bytes when several lanes are open, and then

- drops a ``*.delta`` message at once when the lane's reader does not want deltas (``run()``):
  no model is built, nobody is woken;
- buffers every other message, and wakes the reader only for what needs action: a created,
  queued, an ``output_item.done``, a terminal event or an error (or anything, once per batch of
  messages read together, when the reader wants deltas: ``stream()``). Buffered messages are
  parsed by the reader, in its own task, when it wakes.

A lane whose reader left in the middle of a response *drains* it: its remaining messages are
dropped up to its terminal event, so the next response on that lane starts clean (the server
runs a lane FIFO). A closed connection fails every open lane at once.
"""

from __future__ import annotations

import asyncio
from collections import deque

import orjson

from .base import TransportStats

__all__ = ["Inbox", "Router"]

_PREFIX = b'{"type":"'
_DELTA = b".delta"
_TERMINAL = frozenset(
    {b"response.completed", b"response.failed", b"response.incomplete", b"response.done", b"error"}
)
#: Messages a reader must act on now (everything else can wait for the next wake-up).
_WAKE = _TERMINAL | {b"response.created", b"response.queued", b"response.output_item.done"}
_STREAM_ID = b'"stream_id":"'


def _tag(data: bytes) -> bytes | None:
    """The ``type`` of a message, from a peek when it comes first (always, from OpenAI)."""
    if data.startswith(_PREFIX):
        end = data.find(b'"', 9)
        if end > 0:
            return data[9:end]
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    return kind.encode() if isinstance(kind, str) else None


class Inbox:
    """The buffered messages of one lane's response in flight, and its reader's wake-up."""

    __slots__ = (
        "draining",
        "error",
        "lane",
        "pending",
        "reading",
        "skipped",
        "started",
        "stats",
        "waiter",
        "want_deltas",
    )

    def __init__(self, lane: str | None, stats: TransportStats, want_deltas: bool) -> None:
        self.lane = lane
        self.reading = True
        #: A message of this response arrived (an error before any is the create's refusal).
        self.started = False
        self.pending: deque[bytes] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.want_deltas = want_deltas
        self.stats = stats
        self.error: Exception | None = None
        #: Responses abandoned by their reader whose messages are still to be dropped.
        self.draining = 0
        self.skipped = 0

    def feed(self, data: bytes) -> None:
        self.started = True
        stats = self.stats
        stats.events_received += 1
        stats.bytes_received += len(data)
        tag: bytes | None
        if data.startswith(_PREFIX):
            end = data.find(b'"', 9)
            tag = data[9:end] if end > 0 else _tag(data)
        else:
            tag = _tag(data)
        if self.draining:
            if tag in _TERMINAL:
                self.draining -= 1
            return
        if tag is not None and not self.want_deltas and tag.endswith(_DELTA):
            self.skipped += 1
            return
        self.pending.append(data)
        if self.want_deltas or tag is None or tag in _WAKE:
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                if not waiter.done():
                    waiter.set_result(None)

    def fail(self, exc: Exception) -> None:
        self.error = exc
        self.draining = 0
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Until a message worth acting on arrives or the connection fails."""
        waiter = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        try:
            await waiter
        finally:
            self.waiter = None


class Router:
    """The sink of one connection: messages to the inbox of their lane (``stream_id``)."""

    __slots__ = ("_inboxes", "_only")

    def __init__(self) -> None:
        self._inboxes: dict[str | None, Inbox] = {}
        # With one lane open (the common case) every message is its: no stream_id lookup.
        self._only: Inbox | None = None

    def open(self, lane: str | None, stats: TransportStats, want_deltas: bool) -> Inbox:
        """The inbox for a new response on ``lane`` (a draining one is reused: FIFO)."""
        inbox = self._inboxes.get(lane)
        if inbox is None:
            inbox = self._inboxes[lane] = Inbox(lane, stats, want_deltas)
        else:
            inbox.stats, inbox.want_deltas = stats, want_deltas
            inbox.pending.clear()
            inbox.reading = True
            inbox.started = False
        self._update()
        return inbox

    def release(self, inbox: Inbox, *, drain: bool) -> None:
        """The reader is done with ``inbox``; with ``drain`` the rest of its response is dropped."""
        inbox.reading = False
        inbox.pending.clear()
        if drain and inbox.error is None:
            inbox.draining += 1
        self._forget_if_idle(inbox)

    def _forget_if_idle(self, inbox: Inbox) -> None:
        if not inbox.reading and not inbox.draining and self._inboxes.get(inbox.lane) is inbox:
            del self._inboxes[inbox.lane]
            self._update()

    def busy(self, lane: str | None) -> bool:
        """Whether another lane than ``lane`` has a response open or draining."""
        return any(key != lane for key in self._inboxes)

    def _update(self) -> None:
        self._only = next(iter(self._inboxes.values())) if len(self._inboxes) == 1 else None

    def on_message(self, data: bytes) -> None:
        inbox = self._only
        if inbox is None:
            start = data.find(_STREAM_ID)
            lane: str | None = None
            if start >= 0:
                start += len(_STREAM_ID)
                lane = data[start : data.find(b'"', start)].decode("utf-8", "replace")
            inbox = self._inboxes.get(lane)
            if inbox is None:
                inbox = self._unattributed(lane, data)
                if inbox is None:
                    return  # a lane nobody reads any more (or never opened)
        if inbox.draining:
            inbox.feed(data)
            self._forget_if_idle(inbox)
        else:
            inbox.feed(data)

    def _unattributed(self, lane: str | None, data: bytes) -> Inbox | None:
        """The lane of an ``error`` that names none (a server without lanes refusing a second
        response): the earliest lane still waiting for its response's first message."""
        if lane is not None or _tag(data) != b"error":
            return None
        for inbox in self._inboxes.values():
            if inbox.reading and not inbox.started and not inbox.draining:
                return inbox
        return None

    def on_closed(self, exc: Exception) -> None:
        inboxes = list(self._inboxes.values())
        self._inboxes.clear()
        self._only = None
        for inbox in inboxes:
            inbox.fail(exc)
