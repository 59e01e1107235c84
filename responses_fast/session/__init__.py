"""The agent loop: AgentSession, its events and metrics."""

from .blocking import SyncAgentSession
from .compaction import RemoteCompaction
from .events import (
    ContextCompacted,
    ContextTrimmed,
    Event,
    ItemAdded,
    Reconnected,
    RunFinished,
    RunResult,
    TextDelta,
    ToolCallFinished,
    ToolCallFlagged,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
    Usage,
)
from .metrics import TurnMetrics
from .session import AgentSession, RunStream

__all__ = [
    "AgentSession",
    "ContextCompacted",
    "ContextTrimmed",
    "Event",
    "ItemAdded",
    "Reconnected",
    "RemoteCompaction",
    "RunFinished",
    "RunResult",
    "RunStream",
    "SyncAgentSession",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallFlagged",
    "ToolCallStarted",
    "TurnFinished",
    "TurnMetrics",
    "TurnStarted",
    "Usage",
]
