"""The rendered prefix: the fixed fields of every request, rendered to bytes once per settings.

A Responses body is ``{<prefix fields>, <per-request fields>, "input": [<item bytes>...]}``. The
prefix (model, instructions, tools, tool_choice, store, prompt_cache_key, extra settings) is
rendered once per :class:`~responses_fast.transports.base.RequestSettings` object and reused; item
bytes come from the log (:class:`~responses_fast.cache.render.LoggedItem.raw`). Assembling a body
is then a join of cached pieces: O(bytes), no JSON encoding of the history.

The cache is keyed by the identity of the settings object (a frozen dataclass whose tool schemas
are dicts, so it is not hashable); an entry holds the object, so its id is never reused while
cached. It is bounded (:data:`PREFIX_CACHE_SIZE` entries, least recently used evicted).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from responses_fast.cache.render import LoggedItem
from responses_fast.errors import ConfigurationError
from responses_fast.protocol.client_events import assemble_body, render_fields

if TYPE_CHECKING:
    from responses_fast.cache.tokens import TokenCounter


class RequestSettingsLike(Protocol):
    """What the prefix needs of ``transports.base.RequestSettings`` (cache sits below transports,
    so it names the shape, not the class)."""

    @property
    def instructions(self) -> str | None: ...

    @property
    def tools(self) -> tuple[dict[str, Any], ...]: ...

    def fields(self) -> dict[str, Any]: ...


__all__ = [
    "PREFIX_CACHE_SIZE",
    "STREAM_TRUE",
    "WS_RESPONSE_CREATE",
    "PrefixCacheStatistics",
    "RenderedPrefix",
    "RequestSettingsLike",
    "assemble_full_body",
    "assemble_incremental_body",
    "session_cache_key",
]

PREFIX_CACHE_SIZE = 64

#: Pre-rendered per-request pieces for :func:`assemble_full_body` / ``assemble_incremental_body``.
STREAM_TRUE = b'"stream":true'
WS_RESPONSE_CREATE = b'"type":"response.create"'


def session_cache_key(seed: str | bytes | None = None) -> str:
    """A ``prompt_cache_key`` for one session: ``"rf-"`` + 32 hex digits.

    Without ``seed`` it is random (call once per session and keep it in the settings). With a
    seed (e.g. a conversation id) it is derived from it, so a resumed conversation keeps hitting
    the provider's prompt cache across processes.
    """
    if seed is None:
        return "rf-" + uuid.uuid4().hex
    data = seed.encode("utf-8") if isinstance(seed, str) else seed
    return "rf-" + hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class PrefixCacheStatistics:
    renders: int
    hits: int
    size: int
    maxsize: int


@dataclass(slots=True, eq=False)
class RenderedPrefix:
    """The fixed part of every request for one settings object.

    ``fields`` is ``"model":...,"instructions":...,"tools":[...],...`` (no braces), ready for
    ``assemble_body``. ``token_count(counter)`` counts instructions + tool schemas once per
    encoding.
    """

    settings: RequestSettingsLike
    fields: bytes
    _tokens: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, settings: RequestSettingsLike) -> RenderedPrefix:
        """The rendered prefix of ``settings``, rendered on the first call for that object.

        Raises ConfigurationError if the settings hold something JSON cannot carry.
        """
        key = id(settings)
        with _state.lock:
            hit = _state.entries.get(key)
            if hit is not None and hit.settings is settings:
                _state.entries.move_to_end(key)
                _state.hits += 1
                return hit
        try:
            fields = render_fields(settings.fields())
        except TypeError as exc:
            raise ConfigurationError(f"request settings are not JSON-serializable: {exc}") from None
        prefix = cls(settings=settings, fields=fields)
        with _state.lock:
            _state.renders += 1
            _state.entries[key] = prefix
            while len(_state.entries) > PREFIX_CACHE_SIZE:
                _state.entries.popitem(last=False)
        return prefix

    @staticmethod
    def statistics() -> PrefixCacheStatistics:
        """Renders and hits of the process-wide prefix cache."""
        with _state.lock:
            return PrefixCacheStatistics(
                renders=_state.renders,
                hits=_state.hits,
                size=len(_state.entries),
                maxsize=PREFIX_CACHE_SIZE,
            )

    @staticmethod
    def clear() -> None:
        """Empty the cache and reset its statistics (for tests)."""
        with _state.lock:
            _state.entries.clear()
            _state.renders = 0
            _state.hits = 0

    def token_count(self, counter: TokenCounter) -> int:
        """Tokens of the instructions plus the tool schemas' JSON, counted once per encoding.

        Tool schemas are counted as their compact JSON; the provider renders them in its own
        format, so this is an approximation that the budget's usage correction absorbs.
        """
        name = counter.encoding_name
        cached = self._tokens.get(name)
        if cached is None:
            s = self.settings
            cached = counter.count_text(s.instructions or "")
            if s.tools:
                cached += counter.count_text(orjson.dumps(list(s.tools)).decode())
            self._tokens[name] = cached
        return cached


class _PrefixCacheState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[int, RenderedPrefix] = OrderedDict()
        self.renders = 0
        self.hits = 0


_state = _PrefixCacheState()


def _join(head: list[bytes], items: Iterable[LoggedItem]) -> bytes:
    """``{head...,"input":[items...]}``: the history is copied once, by one ``bytes.join``."""
    return assemble_body(*head, input_items=[item.raw for item in items])


def assemble_full_body(
    prefix: RenderedPrefix, items: Iterable[LoggedItem], *pieces: bytes
) -> bytes:
    """A whole Responses body: prefix fields, extra ``pieces`` (e.g. :data:`STREAM_TRUE`), and
    every item's cached bytes as ``input``."""
    return _join([prefix.fields, *pieces], items)


def assemble_incremental_body(
    prefix: RenderedPrefix,
    previous_response_id: str,
    new_items: Iterable[LoggedItem],
    *pieces: bytes,
) -> bytes:
    """A continuation body: prefix fields, ``previous_response_id``, and only the new items."""
    prev = render_fields({"previous_response_id": previous_response_id})
    return _join([prefix.fields, prev, *pieces], new_items)
