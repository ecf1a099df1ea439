"""Clocks: fix times come from schedules, not from when a task woke up."""

import asyncio
from datetime import UTC, datetime

import pytest

from simulators.clock import ManualClock, RealClock, ScaledClock
from simulators.transports import Backoff


def test_real_clock_starts_on_a_whole_second() -> None:
    clock = RealClock()
    assert clock.start.microsecond == 0 and clock.start.tzinfo is UTC
    assert -1.0 <= clock.elapsed() <= 0.05  # elapsed 0 is the next whole second


async def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(speed=200, start=datetime(2026, 1, 1, tzinfo=UTC))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await clock.sleep_until(10.0)  # ten simulated seconds
    assert clock.elapsed() >= 10.0
    assert loop.time() - t0 < 1.0
    await clock.sleep_until(5.0)  # the past: returns at once


async def test_manual_clock_jumps_and_records_waits() -> None:
    clock = ManualClock()
    await clock.sleep_until(2.5)
    await clock.sleep_until(1.0)
    clock.advance(0.5)
    await clock.sleep_until(4.0)
    assert clock.elapsed() == 4.0 and clock.waits == [2.5, 1.0]


def test_clocks_refuse_naive_starts_and_bad_speeds() -> None:
    with pytest.raises(ValueError):
        ScaledClock(speed=0)
    with pytest.raises(ValueError):
        ScaledClock(start=datetime(2026, 1, 1))


def test_backoff_grows_caps_and_jitters() -> None:
    import random

    backoff = Backoff(initial=1, maximum=8, factor=2, jitter=0.1)
    rng = random.Random(1)
    delays = [backoff.delay(n, rng) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        base = min(8, 2 ** (n - 1))
        assert 0.9 * base <= d <= 1.1 * base
    with pytest.raises(ValueError):
        Backoff(initial=5, maximum=1)
