"""Per-item serialized bytes, computed once and reused by every later request.

The conversation log holds :class:`LoggedItem` entries; each keeps the item's wire bytes so a
request body is a join of cached pieces (see ``protocol.client_events.assemble_body``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from ..protocol.items import item_bytes

__all__ = ["LoggedItem", "log_item"]


@dataclass(slots=True, eq=False)
class LoggedItem:
    """One conversation item with its cached renderings.

    ``raw`` is the Responses wire form; ``extra`` holds other dialects' renderings (e.g. the Chat
    Completions message bytes) filled lazily by the transport that needs them.
    """

    item: BaseModel
    raw: bytes
    tokens: int | None = None
    extra: dict[str, bytes] = field(default_factory=dict)


def log_item(item: BaseModel) -> LoggedItem:
    """Serialize ``item`` once and wrap it for the log."""
    return LoggedItem(item=item, raw=item_bytes(item))
