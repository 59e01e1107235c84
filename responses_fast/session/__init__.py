"""The agent loop: AgentSession, its events and metrics."""

from .agent import Agent
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
from .hooks import Hooks, ModelCallInfo, ModelResponseInfo, ToolCallInfo, Veto
from .metrics import TurnMetrics
from .output import OutputValidationError
from .session import AgentSession, RunStream
from .store import SavedSession, SessionSnapshot, SessionStore

__all__ = [
    "Agent",
    "AgentSession",
    "ContextTrimmed",
    "Event",
    "Hooks",
    "ItemAdded",
    "ModelCallInfo",
    "ModelResponseInfo",
    "OutputValidationError",
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
    "ToolCallInfo",
    "ToolCallStarted",
    "TurnFinished",
    "TurnMetrics",
    "TurnStarted",
    "Usage",
    "Veto",
]
