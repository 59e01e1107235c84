"""The shared token bucket: a 429 pauses every request of the provider and halves the rate."""

from __future__ import annotations

import anyio
import pytest

from responses_fast.batch import RateLimiter, TokenBucket
from responses_fast.batch.ratelimit import is_rate_limit


def test_unlimited_until_a_429_then_paused_for_the_hint() -> None:
    b = TokenBucket()
    for i in range(100):  # 100 requests/s for a second
        assert b.wait_time(10.0 + i / 100) == 0
        b.take(10.0 + i / 100)
    b.throttle(11.0, 2.0)
    assert b.wait_time(11.5) == pytest.approx(1.5)
    assert b.wait_time(12.99) > 0
    assert b.rate == pytest.approx(100 / 2)  # limited now: half the recent rate
    assert b.wait_time(13.0) == 0


def test_a_burst_of_429s_is_one_signal_and_the_rate_recovers() -> None:
    b = TokenBucket(ceiling=8.0, burst=1)
    b.take(0.0)
    b.throttle(1.0, 1.0)
    rate = b.rate
    b.throttle(1.1, 1.0)  # in-flight requests failing in the same storm: no second halving
    assert b.rate == rate and b.throttles == 2
    assert b.paused_until == pytest.approx(2.1)
    assert b.wait_time(2.2) >= 0
    b.wait_time(30.0)
    assert b.rate == 8.0  # doubled back to the ceiling


def test_a_configured_rate_spaces_requests() -> None:
    b = TokenBucket(ceiling=2.0, burst=1)
    assert b.wait_time(0.0) == 0
    b.take(0.0)
    assert b.wait_time(0.0) == pytest.approx(0.5)
    assert b.wait_time(0.5) == 0


def test_the_rate_never_drops_to_zero() -> None:
    b = TokenBucket()
    for i in range(50):
        b.throttle(float(i * 10), 0.1)
    assert b.rate is not None and b.rate >= 1.0


@pytest.mark.anyio
async def test_a_throttle_makes_every_waiter_wait() -> None:
    limiter = RateLimiter()
    await limiter.acquire("p")
    await limiter.throttle("p", 0.2)
    order: list[str] = []

    async def ask(name: str) -> None:
        await limiter.acquire("p")
        order.append(name)

    async with anyio.create_task_group() as tg:
        for name in ("a", "b", "c"):
            tg.start_soon(ask, name)
    assert sorted(order) == ["a", "b", "c"]
    assert limiter.totals() == (1, 3)  # all three waited for the pause
    await limiter.acquire("other")  # another provider is not paused
    assert limiter.totals() == (1, 3)


def test_rate_limit_reasons() -> None:
    assert is_rate_limit("Rate limit reached (emulated).")
    assert is_rate_limit("HTTP 429 Too Many Requests")
    assert not is_rate_limit("connection reset by peer")
