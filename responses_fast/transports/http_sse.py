"""Responses API over HTTP: ``POST {base}/responses`` with ``stream: true``, decoded as SSE.

One pooled keep-alive :class:`httpx.AsyncClient` for the session's life (see ``_http``). With
``store`` on, the server keeps every response, across connections, so after the first turn only
the new items travel with ``previous_response_id``; with ``store`` off (the default, and what
Codex does) every request carries the full context, assembled by joining each item's cached bytes
(never re-serialized). A lost chain (``previous_response_not_found``) is recovered by the
session's retry loop, which resends the full context.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx

from ..config import Timeouts
from ..errors import ConnectionLost, RemoteProtocolError
from ..protocol.client_events import assemble_body, render_fields
from ..protocol.server_events import (
    TERMINAL_EVENT_TYPES,
    ErrorEvent,
    ServerEvent,
    UnknownEvent,
    parse_server_event,
)
from ._errors import check_base_url, error_from_body, error_from_event
from ._http import PooledHttpTransport, drain, is_delta, sse_batches, streamed_post
from .base import RequestSettings, SettingsMemo, TurnRequest

__all__ = ["HttpSseTransport", "responses_url"]

log = logging.getLogger("responses_fast.transports.http_sse")

_DONE = b"[DONE]"


def responses_url(base_url: str) -> str:
    """``https://host/v1`` -> ``https://host/v1/responses`` (a URL already ending so is kept).

    A malformed ``base_url`` raises ConfigurationError.
    """
    check_base_url(base_url, ("http", "https"))
    base = base_url.rstrip("/")
    return base if base.endswith("/responses") else base + "/responses"


class HttpSseTransport(PooledHttpTransport):
    """Responses over HTTP/SSE on one pooled keep-alive connection.

    Args:
        base_url: the API base, e.g. ``https://api.openai.com/v1`` or a local server's ``/v1``.
        api_key: sent as ``Authorization: Bearer``; optional for local servers.
        timeouts: connect/read timeouts (read: the longest silence inside a stream).
        store: overrides the request settings' ``store`` (None: follow them). With store on,
            turns after the first send only the new items plus ``previous_response_id``.
        headers: extra headers for every request.
        ssl_context: verifies ``https`` servers (None: the system CAs).
    """

    name = "http"
    stateful = False

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeouts: Timeouts | None = None,
        store: bool | None = None,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(api_key, timeouts=timeouts, headers=headers, ssl_context=ssl_context)
        self.url = responses_url(base_url)
        self.base_url = self.url[: -len("/responses")]
        self._store = store
        self._prefix = SettingsMemo(self._render_prefix)

    # -- requests --------------------------------------------------------------------------------

    def _render_prefix(self, settings: RequestSettings) -> tuple[bytes, bool]:
        """Settings plus ``stream: true`` (and the store override) as body fields."""
        store = settings.store if self._store is None else self._store
        fields = settings.fields()
        fields["store"] = store
        fields["stream"] = True
        return render_fields(fields), store

    def body_for(self, request: TurnRequest) -> bytes:
        """The request body: the cached prefix plus the cached bytes of the items to send."""
        prefix, store = self._prefix(request.settings)
        items = request.items
        prev = request.previous_response_id if store else None
        start = request.new_from if prev is not None else 0
        self.stats.count_body(len(items) - start, incremental=prev is not None and start > 0)
        return assemble_body(
            prefix,
            render_fields({"previous_response_id": prev}) if prev else b"",
            input_items=[entry.raw for entry in items[start:]],
        )

    @asynccontextmanager
    async def open_turn(
        self, request: TurnRequest
    ) -> AsyncIterator[AsyncIterator[ServerEvent | UnknownEvent]]:
        body = self.body_for(request)
        async with streamed_post(self._http(), self.url, body, self.stats) as response:
            events = self._events(response, request.want_deltas)
            try:
                yield events
            finally:
                await events.aclose()

    async def _events(
        self, response: httpx.Response, want_deltas: bool
    ) -> AsyncGenerator[ServerEvent | UnknownEvent, None]:
        stats = self.stats
        batches = sse_batches(response, stats)
        try:
            async for batch in batches:
                for message in batch:
                    stats.events_received += 1
                    if not want_deltas and is_delta(message):
                        continue  # nobody reads it: not even parsed
                    data = message.data
                    if data == _DONE:
                        raise ConnectionLost("the response stream ended before its terminal event")
                    event = _parse(data)
                    if isinstance(event, ErrorEvent):
                        raise error_from_event(event)
                    yield event
                    if event.type in TERMINAL_EVENT_TYPES:
                        await drain(batches, self._timeouts.close)
                        return
            raise ConnectionLost("the response stream ended before its terminal event")
        finally:
            await batches.aclose()


def _parse(data: bytes) -> ServerEvent | UnknownEvent:
    """One SSE data payload; a legacy ``{"error": {...}}`` payload (no ``type``) is raised."""
    try:
        return parse_server_event(data)
    except RemoteProtocolError:
        if b'"error"' in data:
            raise error_from_body(500, data) from None  # a body "status_code" overrides the 500
        raise
