"""What every transport offers the runners: links (one terminal's connection) and backoff."""

from __future__ import annotations

import abc
import random
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Capped, jittered exponential delays between reconnect attempts.

    Args:
        initial: delay after the first failure, seconds.
        maximum: cap, seconds.
        factor: growth per further failure.
        jitter: each delay is scaled by a random factor in ``1 ± jitter``, so a fleet that lost
            its server together does not come back in lockstep.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum) or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("need 0 < initial <= maximum, factor >= 1, 0 <= jitter < 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt number ``attempt`` + 1 (``attempt`` >= 1 failures so far)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return base * (1 + rng.uniform(-self.jitter, self.jitter))

if TYPE_CHECKING:
    from simulators.terminal import Report


class Link(abc.ABC):
    """One terminal's connection over a transport. Not reentrant; reopenable after close."""

    terminal_id: str

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """True while the link can take data (False once the peer or the port went away)."""

    @property
    @abc.abstractmethod
    def remote(self) -> str:
        """Where the data goes: ``host:port``, broker topic or device path."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect (and identify); raises :class:`~simulators.errors.TransportError`."""

    @abc.abstractmethod
    async def send(self, data: bytes) -> None:
        """Deliver one report's bytes; raises :class:`TransportError` when the link is down.

        May wait: that is the receiver's backpressure reaching the terminal.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Disconnect; never raises. Safe to call on a closed link."""

    async def send_report(self, report: Report) -> int:
        """Deliver one report as this link's terminal speaks; returns the bytes sent. NMEA
        links send the report's sentences; binary-protocol links encode its record."""
        await self.send(report.data)
        return len(report.data)


class Transport(abc.ABC):
    """A factory of links; an async context manager for what the links share."""

    name: str

    @abc.abstractmethod
    def link(self, terminal_id: str) -> Link: ...

    @abc.abstractmethod
    def describe(self) -> str:
        """One line for progress output: where the fleet sends."""

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None
