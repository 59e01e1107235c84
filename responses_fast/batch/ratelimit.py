"""Rate limits shared by a whole batch: one adaptive token bucket per provider.

Every request (model turn) of every task takes a token from its provider's bucket first. The
buckets live in one place (the driver on one machine, a Ray actor on a cluster) and workers ask
them over a pipe or an actor call, so a 429 seen by one task slows every task of the batch:

- the bucket *pauses* for the server's retry-after hint (or one second), so no worker sends to
  that provider until it ends;
- its rate drops to half of the rate of the last few seconds (once per pause: a burst of 429s
  from requests already in flight counts as one signal), then doubles every second without
  a 429, back to the configured ceiling (or to unlimited).

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

_MIN_RATE = 1.0  # requests/s: a storm never stops the batch entirely
_DOUBLING = 1.0  # seconds without a 429 in which the rate doubles
_UNLIMITED = 10_000.0  # an unconfigured bucket that grew past this is unlimited again
_WINDOW = 2.0  # seconds of grants used to measure the recent rate
_DEFAULT_PAUSE = 1.0


def is_rate_limit(reason: str) -> bool:
    """Whether an error text (a retried turn's reason) is a rate limit (429)."""
    text = reason.lower()
    return (
        "rate limit" in text or "429" in text or "too many requests" in text or "rate_limit" in text
    )


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
    #: Grants that had to wait (for a pause or for tokens).
    delayed: int = 0
    _recent: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.rate = self.ceiling
        self.tokens = float(self.burst)

    def _refill(self, now: float) -> None:
        if self.rate is not None and now > self.stamp:
            elapsed = now - self.stamp
            self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
            grown = self.rate * 2 ** (elapsed / _DOUBLING)
            if self.ceiling is not None:
                self.rate = min(grown, self.ceiling)
            else:
                self.rate = None if grown > _UNLIMITED else grown
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

    def take(self, now: float, *, waited: bool = False) -> None:
        """Take a token (call when ``wait_time(now) == 0``)."""
        self._refill(now)
        if self.rate is not None:
            self.tokens -= 1.0
        self.grants += 1
        self.delayed += waited
        self._recent.append(now)
        while self._recent and self._recent[0] < now - _WINDOW:
            self._recent.popleft()

    def throttle(self, now: float, retry_after: float | None) -> None:
        """A 429: pause everyone for the hint, halve the rate."""
        self.throttles += 1
        pause = retry_after if retry_after is not None and retry_after > 0 else _DEFAULT_PAUSE
        already_paused = now < self.paused_until
        self.paused_until = max(self.paused_until, now + pause)
        self.stamp = max(self.stamp, self.paused_until)
        if already_paused:
            return  # the same storm: extend the pause, do not halve again
        while self._recent and self._recent[0] < now - _WINDOW:
            self._recent.popleft()
        # The rate of the recent grants, over the window or the time since the first of them.
        span = min(_WINDOW, now - self._recent[0]) if self._recent else _WINDOW
        recent = len(self._recent) / max(span, 0.1)
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
            waited = False
            while (wait := bucket.wait_time(self._clock())) > 0:
                waited = True
                await anyio.sleep(min(wait, 1.0) if math.isfinite(wait) else 1.0)
            bucket.take(self._clock(), waited=waited)
            self.waited += self._clock() - start

    async def throttle(self, provider: str, retry_after: float | None) -> None:
        self.bucket(provider).throttle(self._clock(), retry_after)

    def totals(self) -> tuple[int, int]:
        """(429 throttles, grants that had to wait) over every provider."""
        buckets = self.buckets.values()
        return sum(b.throttles for b in buckets), sum(b.delayed for b in buckets)

    def stats(self) -> dict[str, dict[str, float | int | None]]:
        return {
            name: {
                "throttles": b.throttles,
                "grants": b.grants,
                "delayed": b.delayed,
                "rate": b.rate,
            }
            for name, b in self.buckets.items()
        }
