"""Hysteresis of one rule on one terminal, and the fault events it emits.

A rule's verdict says whether its bad condition holds *now* (and, when it knows, since when).
The tracker turns that stream of verdicts into at most one open fault:

    OK ──bad──▶ PENDING ──bad for open_after_s──▶ OPEN ──good──▶ CLEARING
                   └──good──▶ OK                    ▲──────bad─────┘
    CLEARING ──good for clear_after_s──▶ OK

A verdict of ``None`` (the rule learnt nothing: no fixes this window, terminal silent) changes
nothing, so silence neither opens nor clears a stream fault (that is the offline rule's job).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


class Phase(enum.Enum):
    OK = "ok"
    PENDING = "pending"  #: bad, not yet for long enough
    OPEN = "open"
    CLEARING = "clearing"  #: open, recovering, not yet for long enough


class FaultEventKind(enum.StrEnum):
    OPENED = "opened"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """One opening or clearing, with the evidence that justified it (JSON-ready)."""

    kind: FaultEventKind
    terminal_id: str
    rule: str
    at: datetime  #: UTC
    evidence: Mapping[str, Any]


class Verdict(NamedTuple):
    """What a rule concluded from one evaluation window.

    A named tuple rather than a dataclass: rules return one per terminal per tick, and most
    of them are :data:`GOOD`. Build ``evidence`` only for bad verdicts where it costs
    anything; a clearing's evidence also carries the last fix and the counters.
    """

    bad: bool
    #: wall-clock time (epoch seconds) at which the current condition began, when the rule
    #: knows it (last valid fix, first jump of the window); otherwise the window's start
    since: float | None = None
    evidence: Mapping[str, Any] | None = None


GOOD = Verdict(False)


def _since(value: float | None) -> float:
    """``bad_since`` in PENDING, ``good_since`` in CLEARING: set on entering the phase."""
    if value is None:
        raise AssertionError("tracker phase without its start time")
    return value


class Tracker:
    __slots__ = ("phase", "bad_since", "good_since", "opened_at", "open_evidence",
                 "recovered_since")

    def __init__(self, phase: Phase = Phase.OK) -> None:
        self.phase = phase
        self.bad_since: float | None = None
        self.good_since: float | None = None
        self.opened_at: float | None = None
        self.open_evidence: Mapping[str, Any] | None = None
        self.recovered_since: float | None = None  #: good_since of the last clearing

    @property
    def is_open(self) -> bool:
        return self.phase is Phase.OPEN or self.phase is Phase.CLEARING

    def step(self, verdict: Verdict | None, *, open_after: float, clear_after: float,
             now: float, window_start: float) -> FaultEventKind | None:
        """Advance on one verdict; return the event to record, if any."""
        if verdict is None:
            return None
        phase = self.phase
        if verdict.bad:
            if phase is Phase.OK:
                self.phase = phase = Phase.PENDING
                since = verdict.since if verdict.since is not None else window_start
                self.bad_since = min(since, now)
            elif phase is Phase.CLEARING:
                self.phase = Phase.OPEN  # recovery did not hold
                self.good_since = None
                return None
            if phase is Phase.PENDING and now - _since(self.bad_since) >= open_after:
                self.phase = Phase.OPEN
                self.opened_at = now
                return FaultEventKind.OPENED
            return None
        if phase is Phase.PENDING:
            self.phase = Phase.OK
            self.bad_since = None
            return None
        if phase is Phase.OPEN:
            self.phase = phase = Phase.CLEARING
            since = verdict.since if verdict.since is not None else window_start
            self.good_since = min(since, now)
        if phase is Phase.CLEARING and now - _since(self.good_since) >= clear_after:
            recovered_since = self.good_since
            self.reset()
            self.recovered_since = recovered_since
            return FaultEventKind.CLEARED
        return None

    def adopt_open(self, opened_at: float) -> None:
        """The fault is open in the database (another gateway, an earlier run): track it."""
        if not self.is_open:
            self.phase = Phase.OPEN
            self.opened_at = opened_at
            self.bad_since = opened_at

    def reset(self) -> None:
        self.phase = Phase.OK
        self.bad_since = self.good_since = self.opened_at = None
        self.open_evidence = None
