"""Ground truth: which epochs a fleet actually put on the wire.

Tests and benchmarks compare what the gateway stored with this: every intact fix sent must be
stored once, under its terminal id and fix time; nothing else may appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from devices.records import Fix, NoFix
from simulators.terminal import Report


class TruthSink(Protocol):
    def add(self, report: Report) -> None:
        """A report whose bytes were handed to the transport."""


@dataclass(frozen=True, slots=True)
class SentFix:
    terminal_id: str
    time: datetime  #: the fix time as the terminal stamped it (skew included)
    fix: Fix
    intact: bool  #: False when a sentence of it was corrupted on purpose


class TruthLog:
    """Keeps every sent report in memory (tests, short runs)."""

    def __init__(self) -> None:
        self.reports: list[Report] = []

    def add(self, report: Report) -> None:
        self.reports.append(report)

    def fixes(self, *, intact_only: bool = True) -> list[SentFix]:
        out = []
        for r in self.reports:
            if isinstance(r.record, Fix) and (r.intact or not intact_only):
                out.append(SentFix(r.terminal_id, r.record.time, r.record, r.intact))
        return out

    def keys(self) -> set[tuple[str, datetime]]:
        """``(terminal id, fix time)`` of every intact fix sent: the rows a store must hold."""
        return {(f.terminal_id, f.time) for f in self.fixes()}

    def no_fixes(self) -> list[tuple[str, NoFix]]:
        return [(r.terminal_id, r.record) for r in self.reports if isinstance(r.record, NoFix)]

    def by_terminal(self) -> dict[str, list[Report]]:
        out: dict[str, list[Report]] = {}
        for r in self.reports:
            out.setdefault(r.terminal_id, []).append(r)
        return out

    def __iter__(self) -> Iterator[Report]:
        return iter(self.reports)

    def __len__(self) -> int:
        return len(self.reports)


class TruthFile:
    """Streams one JSON line per sent epoch to a file (long CLI runs)::

        {"terminal": "SIM0001", "time": "2026-...Z", "kind": "fix", "intact": true,
         "lat": ..., "lon": ..., "faults": ["checksum"]}
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fh: IO[str] | None = self.path.open("w", encoding="utf-8")
        self.count = 0

    def add(self, report: Report) -> None:
        rec = report.record
        if rec is None or self._fh is None:
            return
        line: dict[str, object] = {"terminal": report.terminal_id,
                                   "time": None if rec.time is None else _iso(rec.time)}
        if isinstance(rec, Fix):
            line.update(kind="fix", intact=report.intact, lat=rec.lat, lon=rec.lon)
        else:
            line.update(kind="no_fix", intact=report.intact)
        if report.faults:
            line["faults"] = [str(k) for k in report.faults]
        self._fh.write(json.dumps(line) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")
