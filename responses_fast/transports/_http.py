"""Pieces shared by the HTTP transports: the pooled client and a streamed POST decoded as SSE.

One :class:`httpx.AsyncClient` per transport for the session's life: HTTP/1.1 keep-alive with an
idle expiry (120 s) well above tool runtimes, so a turn after a long tool still reuses the warm
connection instead of paying a new TCP (and TLS) handshake. Timeouts map onto httpx's phases;
httpx's read timeout bounds the silence between two reads of a stream, which is how a stalled
stream becomes :class:`~responses_fast.errors.ReadTimeout`.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import httpx

from ..config import Timeouts, mask_secret
from ..errors import ResponsesFastError, TransportError
from ..protocol.sse import SSEDecoder, SSEMessage
from ._errors import error_from_body, map_transport_errors, translate, unexpected_content
from .base import Transport, TransportStats

__all__ = [
    "KEEPALIVE_EXPIRY",
    "PooledHttpTransport",
    "drain",
    "is_delta",
    "make_client",
    "sse_batches",
    "streamed_post",
    "tls_context",
]

log = logging.getLogger("responses_fast.transports.http")

#: Seconds an idle pooled connection is kept (httpx's default is 5 s: shorter than many tools).
KEEPALIVE_EXPIRY = 120.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one loads the CA bundle, ~30 ms of
    blocked event loop per client (6 s for 200 sessions) if each client made its own."""
    return httpx.create_ssl_context()


def make_client(
    timeouts: Timeouts,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str = "",
    event_hooks: Mapping[str, list[object]] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """The one pooled client of a transport (HTTP/1.1, keep-alive, no redirects).

    ``ssl_context`` verifies ``https`` servers (None: the shared context with the system CAs).
    """
    timeout = httpx.Timeout(
        connect=timeouts.connect,
        read=timeouts.read,
        write=timeouts.read,
        pool=timeouts.connect,
    )
    return httpx.AsyncClient(
        base_url=base_url,
        headers=dict(headers or {}),
        timeout=timeout,
        limits=httpx.Limits(
            max_connections=16, max_keepalive_connections=4, keepalive_expiry=KEEPALIVE_EXPIRY
        ),
        http1=True,
        http2=False,
        follow_redirects=False,
        verify=ssl_context if ssl_context is not None else tls_context(),
        event_hooks=dict(event_hooks) if event_hooks else None,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def streamed_post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    stats: TransportStats,
    *,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[httpx.Response]:
    """POST ``body`` and yield the streaming response once its status is known to be 2xx.

    A non-2xx answer is read and raised as an APIError (retry-after included). Leaving the block
    before the body ended closes the response, which drops its connection from the pool (a
    half-read HTTP/1.1 connection cannot carry the next request).
    """
    request = client.build_request("POST", url, content=body, headers=headers)
    with map_transport_errors("send", url):
        response = await client.send(request, stream=True)
    try:
        stats.requests += 1
        stats.bytes_sent += len(body)
        stats.last_request_bytes = len(body)
        if response.status_code >= 300:
            with map_transport_errors("stream"):
                data = await response.aread()
            stats.bytes_received += len(data)
            raise error_from_body(response.status_code, data, response.headers)
        page = unexpected_content(
            response.status_code, response.headers.get("content-type"), url, "an event stream"
        )
        if page is not None:
            raise page
        yield response
    finally:
        with anyio.CancelScope(shield=True):
            await response.aclose()


async def sse_batches(
    response: httpx.Response, stats: TransportStats
) -> AsyncGenerator[list[SSEMessage], None]:
    """The SSE messages of a streaming response, one list per network read.

    One decode per read and one generator step per read (not per message); errors are
    translated around the whole loop, not per read.
    """
    decoder = SSEDecoder()
    # An identity-encoded body is read straight off the transport's stream: httpx's decoder and
    # re-chunker (two more generator layers per HTTP chunk, i.e. per event) have nothing to do.
    encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
    source = response.aiter_bytes() if encoded else cast(AsyncIterable[bytes], response.stream)
    try:
        async for chunk in source:
            stats.bytes_received += len(chunk)
            messages = decoder.feed(chunk)
            if messages:
                yield messages
        if not encoded:
            await response.aclose()  # what aiter_bytes does at the end: the connection is free
        tail = decoder.flush()
        if tail:
            yield tail
    except ResponsesFastError:
        raise
    except Exception as exc:
        mapped = translate(exc, "stream")
        if mapped is None:
            raise
        raise mapped from exc


_PREFIX = b'{"type":"'
_DELTA = b".delta"


def is_delta(message: SSEMessage) -> bool:
    """Whether ``message`` is a ``*.delta`` event, from its SSE name or a peek at its type."""
    if message.event is not None:
        return message.event.endswith(".delta")
    data = message.data
    if data.startswith(_PREFIX):
        end = data.find(b'"', 9)
        return end > 0 and data[9:end].endswith(_DELTA)
    return False


async def drain(messages: AsyncGenerator[Any, None], limit: float) -> bool:
    """Read what follows the terminal event (normally nothing) so the connection is reusable.

    Returns False when the body did not end in time; the caller's close then drops the connection.
    """
    try:
        with anyio.move_on_after(limit):
            async for _ in messages:
                pass
            return True
    except ResponsesFastError:
        pass  # the response is complete; a broken tail only costs the pooled connection
    return False


class PooledHttpTransport(Transport):
    """What the HTTP transports share: one pooled keep-alive client, warmed on connect.

    Subclasses set ``url`` (where turns are posted) and ``base_url`` (the API base, whose
    ``/models`` warms the pool) and build their request bodies.
    """

    url: str
    base_url: str

    def __init__(
        self,
        api_key: str | None,
        *,
        timeouts: Timeouts | None,
        headers: Mapping[str, str] | None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        self._api_key = api_key
        self._ssl_context = ssl_context
        self._timeouts = timeouts or Timeouts()
        self._headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        self._headers.update(headers or {})
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, api_key={mask_secret(self._api_key)})"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(
                self._timeouts, headers=self._headers, ssl_context=self._ssl_context
            )
        return self._client

    async def connect(self) -> None:
        """Open the pooled connection ahead of the first turn (``GET {base}/models``).

        Any answer warms the pool; failures are ignored (the first turn reports them), except an
        authentication error, which is raised now.
        """
        try:
            with map_transport_errors("connect", self.url):
                response = await self._http().get(self.base_url + "/models")
        except TransportError as exc:
            log.debug("warm-up failed: %s", exc)
            return
        self.stats.connects += 1
        if response.status_code in (401, 403):
            raise error_from_body(response.status_code, response.content, response.headers)

    async def reset(self) -> None:
        """Nothing to drop: a failed response already closed its connection."""

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
