"""Capped, jittered exponential backoff: how the MQTT subscriber and the serial receiver wait
between attempts to reach a broker or a port that went away.

Jitter matters in the field: when a broker restarts, every gateway (and every consumer of a
shared subscription) would otherwise reconnect in lockstep and hit it at the same instant.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from gateway.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffPolicy:
    """Args:
    initial: first delay, seconds.
    maximum: cap on any delay, seconds.
    factor: growth per failed attempt.
    jitter: fraction of each delay drawn at random: a delay ``d`` becomes uniform in
        ``[d * (1 - jitter), d]``. 0 disables jitter.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ConfigError("backoff: need 0 < initial <= maximum")
        if self.factor < 1:
            raise ConfigError("backoff: factor must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ConfigError("backoff: jitter must be within [0, 1]")


class Backoff:
    """The state of one retry loop: ``await backoff.wait()`` after a failure, ``reset()`` after a
    success.

    Args:
        policy: delays.
        rng: random source (tests pass a seeded one).
    """

    def __init__(self, *, policy: BackoffPolicy | None = None,
                 rng: random.Random | None = None) -> None:
        self.policy = policy or BackoffPolicy()
        self._rng = rng or random.Random()
        self.attempts = 0  #: failures since the last reset

    def next_delay(self) -> float:
        """The delay before the next attempt; counts one failure."""
        p = self.policy
        ceiling = min(p.maximum, p.initial * p.factor ** min(self.attempts, 64))
        self.attempts += 1
        return ceiling * (1 - p.jitter * self._rng.random())

    def reset(self) -> None:
        self.attempts = 0

    async def wait(self) -> float:
        delay = self.next_delay()
        await asyncio.sleep(delay)
        return delay
