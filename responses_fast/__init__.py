"""responses_fast: fast, trustworthy LLM agent loops from Python.

The public API is small; everything listed in ``__all__`` is documented in docs/api.md.
"""

from .config import RetryPolicy, Timeouts
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CertificateError,
    ConfigurationError,
    ConnectionLost,
    RateLimitError,
    ResponsesFastError,
    RetriesExhausted,
    ServerError,
    TransportError,
    UsageError,
)
from .session import (
    AgentSession,
    ContextTrimmed,
    Event,
    ItemAdded,
    Reconnected,
    RunFinished,
    RunResult,
    SyncAgentSession,
    TextDelta,
    ToolCallFinished,
    ToolCallFlagged,
    ToolCallStarted,
    TurnFinished,
    TurnMetrics,
    TurnStarted,
    Usage,
)
from .tools import Tool, ToolResult, tool
from .transports.eventloop import run_main
from .transports.websocket import ResponsesSocket

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AgentSession",
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "ConfigurationError",
    "ConnectionLost",
    "ContextTrimmed",
    "Event",
    "ItemAdded",
    "RateLimitError",
    "Reconnected",
    "ResponsesFastError",
    "ResponsesSocket",
    "RetriesExhausted",
    "RetryPolicy",
    "RunFinished",
    "RunResult",
    "ServerError",
    "SyncAgentSession",
    "TextDelta",
    "Timeouts",
    "Tool",
    "ToolCallFinished",
    "ToolCallFlagged",
    "ToolCallStarted",
    "ToolResult",
    "TransportError",
    "TurnFinished",
    "TurnMetrics",
    "TurnStarted",
    "Usage",
    "UsageError",
    "run_main",
    "tool",
]
