"""The one retry policy: a pure backoff schedule and a classifier of errors (no I/O, no sleeping).

Only the session's turn loop uses it; transports never retry by themselves.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from ..config import RetryPolicy
from ..errors import (
    BadRequestError,
    CertificateError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = ["RetryDecision", "backoff", "classify"]

#: API error codes that mean "the server lost our chain state": resend the full context now.
STATE_LOST_CODES = frozenset({"previous_response_not_found", "websocket_connection_limit_reached"})


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    #: Seconds to wait, or None for the backoff schedule's next delay.
    delay: float | None = None
    #: The server no longer holds the chain: the retry must send the full context.
    state_lost: bool = False


def backoff(policy: RetryPolicy, rng: random.Random | None = None) -> Iterator[float]:
    """Delays for attempts 1, 2, ... of ``policy.max_attempts - 1`` retries."""
    r = rng or random
    for n in range(1, policy.max_attempts):
        base = min(policy.initial_delay * 2 ** (n - 1), policy.max_delay)
        yield base * (policy.jitter + (1 - policy.jitter) * r.random())


def classify(exc: BaseException, policy: RetryPolicy) -> RetryDecision:
    """Whether ``exc`` is worth another attempt, and how long to wait first."""
    # A failed continuation evicts its parent on the server (protocol.md 6.1), so every retry
    # resends the full context rather than gambling on the chain.
    if isinstance(exc, BadRequestError) and exc.code in STATE_LOST_CODES:
        return RetryDecision(True, 0.0, state_lost=True)
    if isinstance(exc, (RateLimitError, ServerError)):
        if exc.retry_after is not None:
            if exc.retry_after > policy.max_retry_after:
                return RetryDecision(False)
            return RetryDecision(True, max(exc.retry_after, 0.0), state_lost=True)
        return RetryDecision(True, state_lost=True)
    if isinstance(exc, CertificateError):
        return RetryDecision(False)  # the same certificate fails the same way every time
    if isinstance(exc, TransportError):
        return RetryDecision(True, state_lost=True)
    return RetryDecision(False)
