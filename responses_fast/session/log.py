"""The session's own conversation log: append-only, keyed by call id, the source of every replay."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from ..cache.render import LoggedItem, log_item, log_items
from ..protocol.items import CustomToolCall, CustomToolCallOutput, FunctionCall, FunctionCallOutput

_CALLS = (FunctionCall, CustomToolCall)
_OUTPUTS = (FunctionCallOutput, CustomToolCallOutput)

__all__ = ["ItemLog"]


class ItemLog(Sequence[LoggedItem]):
    """Items in conversation order plus the bookkeeping that makes tool calls exactly-once.

    ``head_response_id`` names the newest response whose context is ``entries[:head_index]``: a
    stateful transport may send only ``entries[head_index:]`` with it. ``None`` means the server
    holds nothing we can extend and the next request carries the full context.
    """

    def __init__(self) -> None:
        self._entries: list[LoggedItem] = []
        # Call id -> its log entry (not the model: a session at rest keeps only wire bytes).
        self._calls: dict[str, LoggedItem] = {}
        self._outputs: set[str] = set()
        self.head_response_id: str | None = None
        self.head_index: int = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> LoggedItem:  # type: ignore[override]
        return self._entries[index]

    def __iter__(self) -> Iterator[LoggedItem]:
        return iter(self._entries)

    @property
    def entries(self) -> list[LoggedItem]:
        return self._entries

    def append(self, item: BaseModel | Mapping[str, Any]) -> LoggedItem:
        """Serialize ``item`` once (ConfigurationError if it cannot be) and add it."""
        entry = log_item(item, index=len(self._entries))
        self._entries.append(entry)
        self._index(entry)
        return entry

    def extend(self, items: Sequence[BaseModel | Mapping[str, Any]]) -> None:
        """Add several items, all or nothing: a bad one raises before any is added."""
        entries = log_items(items)
        for entry in entries:
            self._entries.append(entry)
            self._index(entry)

    def _index(self, entry: LoggedItem) -> None:
        item = entry.item
        if isinstance(item, _CALLS):
            self._calls[item.call_id] = entry
        elif isinstance(item, _OUTPUTS):
            self._outputs.add(item.call_id)

    def replace(self, entries: list[LoggedItem]) -> None:
        """Swap in a trimmed log (context budget). The server's chain no longer matches it."""
        self._entries = list(entries)
        self._calls.clear()
        self._outputs.clear()
        for entry in self._entries:
            self._index(entry)
        self.forget_head()

    def discard_from(self, index: int) -> None:
        """Forget model items of a failed attempt that made no calls (nothing ran for them)."""
        dropped = self._entries[index:]
        if any(isinstance(e.item, _CALLS + _OUTPUTS) for e in dropped):
            raise ValueError("calls and their outputs are never discarded")
        del self._entries[index:]

    def uncounted(self) -> list[LoggedItem]:
        return [e for e in self._entries if e.tokens is None]

    def has_call(self, call_id: str) -> bool:
        return call_id in self._calls

    def has_output(self, call_id: str) -> bool:
        return call_id in self._outputs

    def dangling_calls(self) -> list[FunctionCall | CustomToolCall]:
        """Calls in the log that have no output yet (the API rejects a context with those)."""
        out: list[FunctionCall | CustomToolCall] = []
        for cid, entry in self._calls.items():
            if cid not in self._outputs:
                call = entry.item
                assert isinstance(call, _CALLS)
                out.append(call)
        return out

    def set_head(self, response_id: str | None, index: int | None = None) -> None:
        self.head_response_id = response_id
        self.head_index = len(self._entries) if index is None else index

    def forget_head(self) -> None:
        self.head_response_id = None
        self.head_index = 0

    def release(self) -> None:
        """Drop the parsed models of every entry: at rest the log keeps only wire bytes."""
        for entry in self._entries:
            entry.release()

    def items(self, start: int = 0) -> list[BaseModel]:
        return [e.item for e in self._entries[start:]]
