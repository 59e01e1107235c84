"""Configuration objects: frozen, timeouts on by default, secrets kept out of reprs."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy", "Timeouts", "mask_secret"]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-phase timeouts in seconds.

    ``read`` bounds the silence between two events of a stream: a stalled stream raises
    ReadTimeout and the session reconnects. ``None`` turns a phase's timeout off.
    """

    connect: float | None = 10.0
    read: float | None = 120.0
    close: float = 2.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How the session retries a turn after a transport failure or a retryable API error.

    Attempt n (1-based) waits ``min(initial_delay * 2**(n-1), max_delay) * U(jitter, 1)`` unless the
    server sent a retry-after hint no larger than ``max_retry_after``; a larger hint is not retried.
    """

    max_attempts: int = 5
    initial_delay: float = 0.25
    max_delay: float = 8.0
    jitter: float = 0.75
    max_retry_after: float = 60.0


def mask_secret(value: str | None) -> str:
    """A key for display: never more than its prefix, e.g. ``sk-...(51 chars)``."""
    if not value:
        return "None"
    head = value[:3] if len(value) > 8 else ""
    return f"'{head}...({len(value)} chars)'"
