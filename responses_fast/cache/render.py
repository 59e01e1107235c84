"""Per-item serialized bytes, computed once and reused by every later request.

The conversation log holds :class:`LoggedItem` entries; each keeps the item's wire bytes so a
request body is a join of cached pieces (see ``protocol.client_events.assemble_body``).

Bad input never reaches the log: :func:`log_item` raises :class:`~responses_fast.errors.
ConfigurationError` for an item that cannot be serialized faithfully (an unknown Python object,
a NaN or infinite float that JSON would turn into ``null``, a string with lone surrogates), and
:func:`truncate_output` shortens huge or binary tool output with a visible marker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from responses_fast.errors import ConfigurationError
from responses_fast.protocol.items import item_adapter, item_bytes

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "LoggedItem",
    "log_item",
    "log_items",
    "truncate_output",
]

#: A sensible cap for one tool output before it is logged (about 16k tokens of code).
DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024

_MIN_TRUNCATE_BYTES = 64


class LoggedItem:
    """One conversation item with its cached renderings.

    ``raw`` is the Responses wire form; ``tokens`` is filled by ``TokenCounter.count_item`` (for
    the session's one counter); ``extra`` holds other dialects' renderings (e.g. the Chat
    Completions message bytes) filled lazily by the transport that needs them.

    ``item`` is the parsed model. A session at rest keeps only the wire bytes (:meth:`release`
    drops the model, which costs more than the bytes); ``item`` parses them again on first use.
    """

    __slots__ = ("_item", "extra", "raw", "tokens")

    def __init__(
        self,
        item: BaseModel | None,
        raw: bytes,
        tokens: int | None = None,
        extra: dict[str, bytes] | None = None,
    ) -> None:
        self._item = item
        self.raw = raw
        self.tokens = tokens
        self.extra: dict[str, bytes] = {} if extra is None else extra

    @property
    def item(self) -> BaseModel:
        item = self._item
        if item is None:
            item = self._item = item_adapter.validate_json(self.raw)
        return item

    def release(self) -> None:
        """Drop the parsed model; the wire bytes stay and ``item`` rebuilds it when asked."""
        self._item = None

    def __repr__(self) -> str:
        return f"LoggedItem(raw={self.raw[:60]!r}{'...' if len(self.raw) > 60 else ''})"


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(v) for v in value)
    return False


def _describe(item: object, index: int | None) -> str:
    where = f"item {index} " if index is not None else "item "
    kind = type(item).__name__
    t = getattr(item, "type", None) if not isinstance(item, Mapping) else item.get("type")
    return f"{where}({kind}{', type ' + repr(t) if isinstance(t, str) else ''})"


def log_item(item: BaseModel | Mapping[str, Any], *, index: int | None = None) -> LoggedItem:
    """Serialize ``item`` once and wrap it for the log.

    A mapping is validated as a Responses item first. Raises ConfigurationError (a ValueError)
    naming the item (and ``index``, when given) if it cannot be serialized faithfully.
    """
    if not isinstance(item, BaseModel):
        if not isinstance(item, Mapping):
            raise ConfigurationError(
                f"{_describe(item, index)} is not a conversation item (expected a pydantic "
                "item or a mapping)"
            )
        try:
            item = item_adapter.validate_python(dict(item))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise ConfigurationError(
                f"{_describe(item, index)} is not a valid item: {first['msg']}"
            ) from None
    try:
        raw = item_bytes(item)
    except (TypeError, ValueError) as exc:  # orjson TypeError, PydanticSerializationError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(
            f"{_describe(item, index)} is not JSON-serializable: {reason}"
        ) from None
    if b"null" in raw and _has_non_finite(item.model_dump(mode="python")):
        raise ConfigurationError(
            f"{_describe(item, index)} holds a NaN or infinite number, which JSON cannot carry"
        )
    # orjson returns its output in a buffer of at least 4 KiB; a log keeps every item for the
    # session's life, so keep an exact-size copy (a 127-byte call would otherwise hold 4,100 bytes).
    return LoggedItem(item=item, raw=memoryview(raw).tobytes())


def log_items(items: Iterable[BaseModel | Mapping[str, Any]]) -> list[LoggedItem]:
    """:func:`log_item` over ``items``: all or nothing, errors name the failing index."""
    return [log_item(item, index=i) for i, item in enumerate(items)]


def _utf8(text: str) -> tuple[bytes, int]:
    """UTF-8 bytes of ``text`` and how many characters had to be replaced (lone surrogates)."""
    try:
        return text.encode("utf-8"), 0
    except UnicodeEncodeError:
        data = text.encode("utf-8", "replace")
        bad = sum(1 for ch in text if "\ud800" <= ch <= "\udfff")
        return data, bad


def truncate_output(text: str | bytes, max_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> str:
    """Make a tool output safe to log: valid text of at most about ``max_bytes`` UTF-8 bytes.

    - Text within the limit is returned unchanged.
    - Longer text keeps its first and last ``max_bytes // 2`` bytes (cut on character
      boundaries) around a marker ``[... N bytes omitted ...]`` giving the exact count removed.
    - ``bytes`` that are valid UTF-8 are treated as text; other bytes (binary output) are decoded
      with U+FFFD replacement characters and prefixed with ``[binary output: N bytes, decoded
      with replacement characters]``.
    - Lone surrogates in ``str`` (which JSON cannot carry) are replaced with ``?`` and noted.

    The marker is counted outside ``max_bytes``: the result is at most ``max_bytes`` plus about
    80 bytes of markers. Raises ValueError if ``max_bytes`` < 64.
    """
    if max_bytes < _MIN_TRUNCATE_BYTES:
        raise ValueError(f"max_bytes must be >= {_MIN_TRUNCATE_BYTES}, got {max_bytes}")
    notes: list[str] = []
    if isinstance(text, bytes | bytearray | memoryview):
        data = bytes(text)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            notes.append(
                f"[binary output: {len(data)} bytes, decoded with replacement characters]\n"
            )
            data = data.decode("utf-8", "replace").encode("utf-8")
    elif isinstance(text, str):
        data, bad = _utf8(text)
        if bad:
            notes.append(f"[{bad} invalid characters (lone surrogates) replaced with '?']\n")
        elif len(data) <= max_bytes:
            return text
    else:
        raise TypeError(f"tool output must be str or bytes, not {type(text).__name__}")
    prefix = "".join(notes)
    if len(data) <= max_bytes:
        return prefix + data.decode("utf-8")
    half = max_bytes // 2
    head = data[:half].decode("utf-8", "ignore")  # a split character at the cut is dropped
    tail = data[len(data) - half :].decode("utf-8", "ignore")
    omitted = len(data) - len(head.encode("utf-8")) - len(tail.encode("utf-8"))
    return f"{prefix}{head}\n[... {omitted} bytes omitted ...]\n{tail}"
