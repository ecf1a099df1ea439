"""Time for simulations: real, scaled (fast but real-I/O tests) or manual (single-task tests).

Runners work in *elapsed* seconds since the start of the run and ask the clock to wake them at
an elapsed time; fix timestamps are ``clock.start + scheduled elapsed``, never the time a task
happened to wake, so reports carry exact epoch times whatever the scheduling jitter.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    start: datetime  #: UTC wall time of elapsed 0

    def elapsed(self) -> float:
        """Seconds of simulated time since ``start``."""

    async def sleep_until(self, elapsed: float) -> None:
        """Return once ``elapsed()`` has reached ``elapsed`` (at once if it has)."""


def _whole_second(t: datetime) -> datetime:
    return t.replace(microsecond=0)


class RealClock:
    """Wall time. Elapsed 0 is the next whole second, so 1 Hz reports fall on whole seconds as a
    receiver's epochs do."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.start = _whole_second(now) + timedelta(seconds=1)
        self._m0 = time.monotonic() + (self.start - now).total_seconds()

    def elapsed(self) -> float:
        return time.monotonic() - self._m0

    async def sleep_until(self, elapsed: float) -> None:
        delay = elapsed - self.elapsed()
        if delay > 0:
            await asyncio.sleep(delay)


class ScaledClock:
    """Simulated time running ``speed`` times faster than real time, from ``start``.

    With real sockets and servers in a test, ``speed=50`` plays a minute in just over a second
    while keeping every task's order of events; ``speed=1`` with an explicit ``start`` replays a
    scenario at a fixed date.
    """

    def __init__(self, *, speed: float = 1.0, start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.speed = speed
        self.start = start if start is not None else _whole_second(datetime.now(UTC))
        self._m0 = time.monotonic()

    def elapsed(self) -> float:
        return (time.monotonic() - self._m0) * self.speed

    async def sleep_until(self, elapsed: float) -> None:
        delay = (elapsed - self.elapsed()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """Time that moves only when someone sleeps: a sleep jumps straight to its deadline.

    Exact and instantaneous, for one task at a time (replay pacing, a single terminal); with
    several tasks each still sees its own deadlines, but their interleaving follows the event
    loop, not simulated time. ``waits`` records every jump, for pacing assertions.
    """

    def __init__(self, *, start: datetime | None = None) -> None:
        self.start = start if start is not None else datetime(2026, 1, 1, tzinfo=UTC)
        self._now = 0.0
        self.waits: list[float] = []

    def elapsed(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)

    async def sleep_until(self, elapsed: float) -> None:
        if elapsed > self._now:
            self.waits.append(elapsed - self._now)
            self._now = elapsed
        await asyncio.sleep(0)
