"""Rate limits shared by a whole batch: one adaptive token bucket per provider.

Every request (model turn) of every task takes a token from its provider's bucket first. The
buckets live in one place (the driver on one machine, a Ray actor on a cluster) and workers ask
them over a pipe or an actor call, so a 429 seen by one task slows every task of the batch:

- the bucket *pauses* for the server's retry-after hint (or one second), so no worker sends to
  that provider until it ends;
- its rate drops to half of the rate of the last few seconds (multiplicative decrease) and then
  creeps back up by 5% per granted request (additive-ish increase) to the configured ceiling.

Without a configured rate the bucket starts unlimited and only 429s make it adapt. The
bookkeeping (:class:`TokenBucket`) is pure; :class:`RateLimiter` adds the waiting.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import anyio

__all__ = ["Gate", "RateLimiter", "TokenBucket", "is_rate_limit"]

_MIN_RATE = 0.2  # requests/s: a storm never stops the batch entirely
_WINDOW = 5.0  # seconds of grants used to measure the recent rate
_DEFAULT_PAUSE = 1.0


def is_rate_limit(reason: str) -> bool:
    """Whether an error text (a retried turn's reason) is a rate limit (429)."""
    text = reason.lower()
    return "rate limit" in text or "429" in text or "too many requests" in text or "rate_limit" in text


@dataclass(slots=True)
class TokenBucket:
    """Tokens per second ``rate`` (None = unlimited), up to ``burst`` saved; pausable."""

    ceiling: float | None = None
    burst: int = 8
    rate: float | None = None
    tokens: float = 0.0
    stamp: float = 0.0
    paused_until: float = 0.0
    throttles: int = 0
    grants: int = 0
    _recent: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.rate = self.ceiling
        self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if self.rate is not None and now > self.stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)

    def wait_time(self, now: float) -> float:
        """Seconds until a token can be taken (0 = now)."""
        if now < self.paused_until:
            return self.paused_until - now
        if self.rate is None:
            return 0.0
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        """Take a token (call when ``wait_time(now) == 0``)."""
        self._refill(now)
        if self.rate is not None:
            self.tokens -= 1.0
            grown = self.rate * 1.05
            self.rate = grown if self.ceiling is None or grown < self.ceiling else self.ceiling
            if self.ceiling is None and self.rate > 1e6:
                self.rate = None  # fully recovered: unlimited again
        self.grants += 1
        self._recent.append(now)
        while self._recent and self._recent[0] < now - _WINDOW:
            self._recent.popleft()

    def throttle(self, now: float, retry_after: float | None) -> None:
        """A 429: pause everyone for the hint, halve the rate."""
        self.throttles += 1
        pause = retry_after if retry_after is not None and retry_after > 0 else _DEFAULT_PAUSE
        self.paused_until = max(self.paused_until, now + pause)
        while self._recent and self._recent[0] < now - _WINDOW:
            self._recent.popleft()
        recent = len(self._recent) / _WINDOW
        base = self.rate if self.rate is not None else max(recent, 2 * _MIN_RATE)
        self.rate = max(_MIN_RATE, min(base, max(recent, _MIN_RATE)) / 2)
        self.tokens = min(self.tokens, 1.0)
        self.stamp = max(self.stamp, self.paused_until)


class Gate(Protocol):
    """What a worker asks before each request, and tells after a 429."""

    async def acquire(self, provider: str) -> None: ...

    async def throttle(self, provider: str, retry_after: float | None) -> None: ...


class RateLimiter:
    """The buckets of one batch, keyed by provider, with FIFO waiting (a Gate)."""

    def __init__(
        self,
        rates: dict[str, float] | None = None,
        *,
        default_rate: float | None = None,
        burst: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(rates or {})
        self.default_rate = default_rate
        self._burst = burst
        self._clock = clock
        self.buckets: dict[str, TokenBucket] = {}
        self._locks: dict[str, anyio.Lock] = {}
        self.waited = 0.0

    def bucket(self, provider: str) -> TokenBucket:
        b = self.buckets.get(provider)
        if b is None:
            b = TokenBucket(ceiling=self.rates.get(provider, self.default_rate), burst=self._burst)
            self.buckets[provider] = b
            self._locks[provider] = anyio.Lock()
        return b

    async def acquire(self, provider: str) -> None:
        bucket = self.bucket(provider)
        async with self._locks[provider]:  # one waiter at a time: first come, first served
            start = self._clock()
            while (wait := bucket.wait_time(self._clock())) > 0:
                await anyio.sleep(min(wait, 1.0) if math.isfinite(wait) else 1.0)
            bucket.take(self._clock())
            self.waited += self._clock() - start

    async def throttle(self, provider: str, retry_after: float | None) -> None:
        self.bucket(provider).throttle(self._clock(), retry_after)

    def stats(self) -> dict[str, dict[str, float | int | None]]:
        return {
            name: {"throttles": b.throttles, "grants": b.grants, "rate": b.rate}
            for name, b in self.buckets.items()
        }
