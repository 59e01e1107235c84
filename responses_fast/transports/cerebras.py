"""Cerebras through its official SDK (``cerebras-cloud-sdk``, the async client).

The SDK's :class:`~cerebras.cloud.sdk.AsyncCerebras` is created once, on first use, with
``warm_tcp_connection=False`` (its own warming builds a throw-away *sync* client that blocks the
event loop and does not warm the async pool) and ``max_retries=0`` (the session retries, once, in
one place). It runs on our pooled keep-alive httpx client, so :meth:`CerebrasTransport.connect`
warms that very pool with ``GET /v1/tcp_warming`` through the SDK.

Two request paths, both through the SDK's client (its auth, headers, streaming, error types):

- ``body="bytes"`` (default): the body is joined from cached bytes exactly as on the generic Chat
  Completions path (each item's chat rendering serialized once, ever) and posted with the SDK's
  ``client.post("/v1/chat/completions", content=...)``, asking for the raw streamed response,
  which is decoded by the same code as the generic Chat Completions path and read to its end so
  the connection is reused. A turn costs O(new items).
- ``body="create"``: ``client.chat.completions.create(stream=True, messages=..., tools=...)``, the
  SDK's typed method. Its parameter transform walks the whole history in Python on every turn
  (measured ~0.3 ms per turn at 20 turns here and growing with the history), so it is opt-in.

With ``create``, each streamed chunk, already parsed by the SDK, is turned into a dict and fed
to the same :class:`~responses_fast.protocol.chat.ChatStreamAssembler` as the generic Chat
Completions path, which also absorbs Cerebras's repeated final tool-call fragment. The SDK's
stream closes the body at ``[DONE]`` without reading its end, so this path opens a new
connection per turn.

Byte counters are exact for bodies: ``bytes_sent`` is the serialized request body as httpx sends
it (an httpx request hook), ``bytes_received`` the response body bytes httpx downloaded
(``num_bytes_downloaded``, counted when the stream closes); headers are not counted, as on the
other transports.
"""

from __future__ import annotations

import inspect
import logging
import os
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx
import orjson

from ..config import Timeouts, mask_secret
from ..errors import ConfigurationError, ConnectionLost, ResponsesFastError, TransportError
from ..protocol.chat import ChatStreamAssembler
from ..protocol.client_events import render_fields
from ..protocol.server_events import ServerEvent, UnknownEvent
from ._errors import check_base_url, map_transport_errors, translate, unexpected_content
from ._http import make_client
from .base import RequestSettings, SettingsMemo, Transport, TurnRequest
from .chat_completions import chat_body_fields, chat_messages, chat_stream_events

BodyMode = Literal["bytes", "create"]

if TYPE_CHECKING:
    from cerebras.cloud.sdk import AsyncCerebras

__all__ = ["CEREBRAS_BASE_URL", "CerebrasTransport", "is_cerebras_url"]

log = logging.getLogger("responses_fast.transports.cerebras")

CEREBRAS_BASE_URL = "https://api.cerebras.ai"
API_KEY_ENV = "CEREBRAS_API_KEY"
BASE_URL_ENV = "CEREBRAS_BASE_URL"


def is_cerebras_url(base_url: str | None) -> bool:
    """True for the hosted Cerebras API (``api.cerebras.ai``)."""
    if not base_url:
        return False
    host = urlsplit(base_url).hostname or ""
    return host == "api.cerebras.ai" or host.endswith(".cerebras.ai")


def _sdk_root(base_url: str) -> str:
    """The SDK appends ``/v1`` itself: ``http://host:port/v1`` -> ``http://host:port``."""
    base = base_url.rstrip("/")
    for suffix in ("/chat/completions", "/v1"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


class CerebrasTransport(Transport):
    """Chat Completions on Cerebras via ``cerebras-cloud-sdk``'s async client.

    Args:
        api_key: defaults to ``$CEREBRAS_API_KEY``; required for the hosted API (a missing key
            raises ConfigurationError naming the variable), optional for local servers.
        base_url: defaults to ``$CEREBRAS_BASE_URL`` or ``https://api.cerebras.ai``; a trailing
            ``/v1`` is accepted (the SDK adds it itself).
        timeouts: connect/read timeouts for the SDK and its pool.
        headers: extra default headers.
        include_usage: ask for the final usage chunk (``stream_options.include_usage``).
        body: ``"bytes"`` posts the body joined from cached bytes through the SDK client
            (default, O(new items) per turn); ``"create"`` calls ``chat.completions.create``.
        ssl_context: verifies ``https`` servers (None: the system CAs).
    """

    name = "cerebras"
    stateful = False

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeouts: Timeouts | None = None,
        headers: Mapping[str, str] | None = None,
        include_usage: bool = True,
        body: BodyMode = "bytes",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        if body not in ("bytes", "create"):
            raise ConfigurationError(f"body must be 'bytes' or 'create', not {body!r}")
        self.body_mode: BodyMode = body
        base = base_url or os.environ.get(BASE_URL_ENV) or CEREBRAS_BASE_URL
        check_base_url(base, ("http", "https"))
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not key and is_cerebras_url(base):
            raise ConfigurationError(
                f"no Cerebras API key: set {API_KEY_ENV} or pass api_key= "
                "(or point base_url at a local server)"
            )
        self.base_url = _sdk_root(base)
        self._api_key = key
        self._timeouts = timeouts or Timeouts()
        self._headers = dict(headers or {})
        self._ssl_context = ssl_context
        self._include_usage = include_usage
        self._client: AsyncCerebras | None = None
        self._http: httpx.AsyncClient | None = None
        self._kwargs = SettingsMemo(self._render_kwargs)
        self._prefix_bytes = SettingsMemo(
            lambda s: render_fields(chat_body_fields(s, include_usage=self._include_usage))
        )

    def __repr__(self) -> str:
        return (
            f"CerebrasTransport(base_url={self.base_url!r}, api_key={mask_secret(self._api_key)})"
        )

    # -- the SDK client --------------------------------------------------------------------------

    async def _count_request(self, request: httpx.Request) -> None:
        body = request.content  # the SDK sends a byte body (never a stream)
        self.stats.bytes_sent += len(body)
        self.stats.last_request_bytes = len(body)

    def _sdk(self) -> AsyncCerebras:
        if self._client is None:
            from cerebras.cloud.sdk import AsyncCerebras

            t = self._timeouts
            self._http = make_client(
                t, event_hooks={"request": [self._count_request]}, ssl_context=self._ssl_context
            )
            self._client = AsyncCerebras(
                # The SDK insists on a key; a local server ignores this placeholder.
                api_key=self._api_key or "no-key",
                base_url=self.base_url,
                timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.connect),
                max_retries=0,
                default_headers=self._headers or None,
                http_client=self._http,
                warm_tcp_connection=False,
            )
        return self._client

    async def connect(self) -> None:
        """Warm the SDK's own connection pool with ``GET /v1/tcp_warming`` (failures ignored)."""
        client = self._sdk()
        try:
            with (
                map_transport_errors("connect", self.base_url),
                anyio.fail_after(self._timeouts.connect),
            ):
                await client.get("/v1/tcp_warming", cast_to=httpx.Response)
        except TransportError as exc:
            log.debug("tcp warming failed: %s", exc)
            return
        except Exception as exc:  # an APIError of the warm-up (e.g. 404): harmless
            log.debug("tcp warming answered %s", exc)
            return
        self.stats.connects += 1

    async def reset(self) -> None:
        """Nothing to drop: a failed stream already closed its connection."""

    async def aclose(self) -> None:
        client, self._client = self._client, None
        self._http = None
        if client is not None:
            with anyio.CancelScope(shield=True):
                await client.close()

    # -- requests --------------------------------------------------------------------------------

    def _render_kwargs(self, settings: RequestSettings) -> dict[str, Any]:
        """``create()`` keyword arguments for the fixed fields."""
        fields = chat_body_fields(settings, include_usage=self._include_usage)
        known = _create_parameters()
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in fields.items():
            (kwargs if key in known else extra)[key] = value
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    @asynccontextmanager
    async def open_turn(
        self, request: TurnRequest
    ) -> AsyncIterator[AsyncIterator[ServerEvent | UnknownEvent]]:
        client = self._sdk()
        settings = request.settings
        messages = chat_messages(request.items, settings.instructions)
        self.stats.count_body(len(request.items), incremental=False)
        with map_transport_errors("send", self.base_url):
            if self.body_mode == "bytes":
                body = b"{" + self._prefix_bytes(settings) + b',"messages":' + messages + b"}"
                # What create() sends, minus its per-turn transform of the whole history. The
                # raw response comes back unread: the SDK's own stream stops at [DONE] and
                # closes the body unfinished, which costs a new connection every turn.
                response: httpx.Response = await client.post(
                    "/v1/chat/completions",
                    content=body,
                    cast_to=httpx.Response,
                    options={"headers": {"X-Stainless-Raw-Response": "stream"}},
                )
            else:
                stream: Any = await client.chat.completions.create(
                    messages=orjson.loads(messages), **self._kwargs(settings)
                )
        self.stats.requests += 1
        if self.body_mode == "bytes":
            page = unexpected_content(
                response.status_code,
                response.headers.get("content-type"),
                self.base_url,
                "an event stream",
            )
            if page is not None:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
                raise page
            events = chat_stream_events(
                response, self.stats, self._timeouts.close, want_deltas=request.want_deltas
            )
        else:
            events = self._events(stream, request.want_deltas)
        try:
            yield events
        finally:
            await events.aclose()

    async def _events(
        self, stream: Any, want_deltas: bool
    ) -> AsyncGenerator[ServerEvent | UnknownEvent, None]:
        assembler = ChatStreamAssembler(emit_deltas=want_deltas)
        response: httpx.Response = stream.response
        chunks = stream.__aiter__()
        try:
            while True:
                try:  # a plain try per chunk: no context manager on the hot path
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
                except ResponsesFastError:
                    raise
                except Exception as exc:
                    mapped = translate(exc, "stream")
                    if mapped is None:
                        raise
                    raise mapped from exc
                self.stats.events_received += 1
                for event in assembler.feed(chunk.model_dump()):
                    yield event
            # The SDK stops at [DONE] (and drains the body); it does not tell a cut-off body
            # apart, so a stream that never reached finish_reason counts as lost.
            if assembler.finish_reason is None:
                raise ConnectionLost("the chat stream ended before finish_reason")
            for event in assembler.finish():
                yield event
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
            self.stats.bytes_received += response.num_bytes_downloaded


_CREATE_PARAMS: frozenset[str] | None = None


def _create_parameters() -> frozenset[str]:
    """The keyword parameters of the SDK's ``chat.completions.create`` (others go in extra_body)."""
    global _CREATE_PARAMS
    if _CREATE_PARAMS is None:
        from cerebras.cloud.sdk.resources.chat.completions import AsyncCompletionsResource

        sig = inspect.signature(AsyncCompletionsResource.create)
        _CREATE_PARAMS = frozenset(sig.parameters) - {"self", "extra_body", "messages"}
    return _CREATE_PARAMS
