"""Context compaction by the provider: ``POST {base}/responses/compact``.

When the context budget says the next request would not fit, a session configured with
:class:`RemoteCompaction` first asks the provider to compact the conversation: the request is
``{"model", "instructions", "input": [items]}`` and the answer (a ``response.compaction`` object)
carries ``output``, the new, shorter context window (typically the user messages and one opaque
``compaction`` item), which replaces the log. The server's response chain is not continued after
that: the next request sends the compacted window in full.

Providers without the endpoint (an answer 404, 405 or 501) are remembered as such and the
session falls back to local trimming (``cache.budget``) for the rest of its life; any other
failure falls back for this one request. Chat Completions transports never compact remotely.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from ..cache.render import LoggedItem
from ..config import Timeouts
from ..errors import RemoteProtocolError, ResponsesFastError
from ..transports._errors import error_from_body, map_transport_errors
from ..transports.base import RequestSettings

__all__ = ["CompactionResult", "RemoteCompaction", "RemoteCompactor"]

log = logging.getLogger("responses_fast.session")

#: Statuses that say the provider has no compact endpoint.
_UNSUPPORTED = frozenset({404, 405, 501})


@dataclass(frozen=True, slots=True)
class RemoteCompaction:
    """Compact with the provider's ``/responses/compact`` before trimming locally.

    Args:
        min_items: do not compact a log shorter than this (local trimming handles it).
    """

    min_items: int = 4


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """What a compaction returned: the new context window and the server's usage record."""

    items: list[dict[str, Any]]
    usage: dict[str, Any] | None = None


class RemoteCompactor:
    """Calls ``POST {base_url}/responses/compact`` on its own pooled HTTP client."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeouts: Timeouts | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = base_url.rstrip("/").removesuffix("/responses") + "/responses/compact"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        t = timeouts or Timeouts()
        self._timeout = httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.connect)
        self._ssl_context = ssl_context
        self._client: httpx.AsyncClient | None = None
        #: False once the provider answered that it has no such endpoint.
        self.supported = True

    def __repr__(self) -> str:  # the headers hold the key: never show them
        return f"RemoteCompactor(url={self.url!r}, supported={self.supported})"

    def body(self, settings: RequestSettings, items: Sequence[LoggedItem]) -> bytes:
        """The request body: cached item bytes joined, as for every other request."""
        head: dict[str, Any] = {"model": settings.model}
        if settings.instructions:
            head["instructions"] = settings.instructions
        prefix = orjson.dumps(head)[:-1]
        return prefix + b',"input":[' + b",".join(e.raw for e in items) + b"]}"

    async def compact(
        self, settings: RequestSettings, items: Sequence[LoggedItem]
    ) -> CompactionResult | None:
        """The compacted window, or None when the provider has no compact endpoint.

        Raises the library's errors (APIError, TransportError, RemoteProtocolError) otherwise.
        """
        if not self.supported:
            return None
        if self._client is None:
            verify: ssl.SSLContext | bool = self._ssl_context or True
            self._client = httpx.AsyncClient(timeout=self._timeout, verify=verify, http2=False)
        with map_transport_errors("send"):
            response = await self._client.post(
                self.url, content=self.body(settings, items), headers=self._headers
            )
        data = response.content
        if response.status_code in _UNSUPPORTED:
            self.supported = False
            log.info("%s answered %d: compacting locally", self.url, response.status_code)
            return None
        if response.status_code >= 300:
            raise error_from_body(response.status_code, data, response.headers)
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise RemoteProtocolError("compact answer is not JSON", raw=data) from None
        output = parsed.get("output") if isinstance(parsed, dict) else None
        if not isinstance(output, list) or not all(isinstance(i, dict) for i in output):
            raise RemoteProtocolError("compact answer has no 'output' list of items", raw=data)
        usage = parsed.get("usage")
        return CompactionResult(output, usage if isinstance(usage, dict) else None)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


async def try_compact(
    compactor: RemoteCompactor, settings: RequestSettings, items: Sequence[LoggedItem]
) -> CompactionResult | None:
    """:meth:`RemoteCompactor.compact`, with every failure logged and turned into None (the
    caller trims locally instead: compaction saves tokens, it is never worth failing a run)."""
    try:
        return await compactor.compact(settings, items)
    except ResponsesFastError as exc:
        log.warning("remote compaction failed (%s); trimming locally", exc)
        return None
