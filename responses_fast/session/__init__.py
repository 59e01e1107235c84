"""The agent loop: AgentSession, its events and metrics."""

from .blocking import SyncAgentSession
from .events import (
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
from .store import SavedSession, SessionSnapshot, SessionStore

__all__ = [
    "AgentSession",
    "ContextTrimmed",
    "Event",
    "ItemAdded",
    "Reconnected",
    "RunFinished",
    "RunResult",
    "RunStream",
    "SavedSession",
    "SessionSnapshot",
    "SessionStore",
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
