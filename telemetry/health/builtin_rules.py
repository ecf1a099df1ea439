"""The built-in rules: what a plain NMEA terminal's stream can tell about its health, and
(:mod:`telemetry.health.alarm_rules`) what binary protocols' terminals report about themselves.

Each rule reads the window counters that the monitor folds from the stream (see
:mod:`telemetry.health.terminal`) and returns one :class:`Verdict`; hysteresis and fault events
are the engine's business. ``offline`` is a sweep rule: it is judged on the database's latest
state, which every gateway process updates (:mod:`telemetry.health.sweep`).
"""

from __future__ import annotations

from typing import Any

from telemetry.health.alarm_rules import ALARM_RULES
from telemetry.health.config import (
    ChecksumErrorThresholds,
    ClockDriftThresholds,
    NoFixThresholds,
    OfflineThresholds,
    PoorAccuracyThresholds,
    PositionJumpThresholds,
    ReconnectStormThresholds,
)
from telemetry.health.hysteresis import GOOD, Verdict
from telemetry.health.rules import Rule, RuleKind, RuleRegistry
from telemetry.health.terminal import TerminalHealth, fix_json, iso


class OfflineRule(Rule):
    name = "offline"
    kind = RuleKind.SWEEP
    thresholds_type = OfflineThresholds
    summary = "no data for longer than the expected report interval x N"

    @staticmethod
    def open_after(th: OfflineThresholds, report_interval_s: int | None) -> float:
        if report_interval_s and report_interval_s > 0:
            return max(th.open_after_s, th.intervals * report_interval_s)
        return th.open_after_s

    @staticmethod
    def recovery_gap(th: OfflineThresholds, report_interval_s: int | None) -> float:
        gap = th.recovery_gap_s
        if report_interval_s and report_interval_s > 0:
            gap = max(gap, 2.0 * report_interval_s)
        return gap


class NoFixRule(Rule):
    name = "no_fix"
    thresholds_type = NoFixThresholds
    summary = "reporting, but no valid fix (RMC status V, GGA quality 0) for longer than T"

    def evaluate(self, terminal: TerminalHealth, thresholds: NoFixThresholds, memory: Any,
                 now: float) -> Verdict | None:
        if not terminal.w_records or terminal.in_fix_run is None:
            return None  # silent: the offline rule's business
        if terminal.in_fix_run:
            return Verdict(False, terminal.run_since)
        return Verdict(True, terminal.run_since, {
            "no_fix_since": iso(terminal.run_since),
            "no_fix_epochs_in_window": terminal.w_nofixes,
            "last_valid_fix": fix_json(terminal.last_fix, terminal.last_fix_rx),
        })


class PoorAccuracyRule(Rule):
    name = "poor_accuracy"
    thresholds_type = PoorAccuracyThresholds
    summary = "HDOP above a threshold or fewer than 4 satellites, persistently"

    def evaluate(self, terminal: TerminalHealth, thresholds: PoorAccuracyThresholds,
                 memory: Any, now: float) -> Verdict | None:
        if not terminal.w_fixes:
            return None
        ratio = terminal.w_poor / terminal.w_fixes
        if ratio < thresholds.min_poor_ratio:
            return GOOD
        fix = terminal.last_fix
        return Verdict(True, None, {
            "poor_fixes_in_window": terminal.w_poor, "fixes_in_window": terminal.w_fixes,
            "poor_ratio": round(ratio, 3),
            "last_hdop": fix.hdop if fix else None, "last_sats": fix.sats if fix else None,
        })


class PositionJumpRule(Rule):
    name = "position_jump"
    thresholds_type = PositionJumpThresholds
    summary = "implied speed between consecutive fixes beyond what a vehicle can do"

    def evaluate(self, terminal: TerminalHealth, thresholds: PositionJumpThresholds,
                 memory: Any, now: float) -> Verdict | None:
        jumps = terminal.jumps
        horizon = now - thresholds.window_s
        while jumps and jumps[0] < horizon:
            jumps.popleft()
        n = len(jumps)
        if n < thresholds.count:
            # no fixes: nothing learnt about the receiver's positions
            return GOOD if terminal.w_fixes else None
        return Verdict(True, None, {"jumps_in_window": n, "last_jump": terminal.last_jump})


class ClockDriftRule(Rule):
    name = "clock_drift"
    thresholds_type = ClockDriftThresholds
    summary = "terminal fix time far from the server's receive time"

    def evaluate(self, terminal: TerminalHealth, thresholds: ClockDriftThresholds, memory: Any,
                 now: float) -> Verdict | None:
        drift = terminal.w_drift
        if drift is None:
            return None
        if abs(drift) <= thresholds.max_drift_s:
            return GOOD
        return Verdict(True, None, {"drift_s": round(drift, 3),
                                    "fix": fix_json(terminal.w_drift_fix)})


class ReconnectStormRule(Rule):
    name = "reconnect_storm"
    thresholds_type = ReconnectStormThresholds
    summary = "many session openings in a short window (SIM or network trouble)"

    def evaluate(self, terminal: TerminalHealth, thresholds: ReconnectStormThresholds,
                 memory: Any, now: float) -> Verdict | None:
        opens = terminal.opens
        horizon = now - thresholds.window_s
        while opens and opens[0] < horizon:
            opens.popleft()
        n = len(opens)
        if n < thresholds.count:
            return GOOD
        return Verdict(True, None, {
            "opens_in_window": n, "first_open_in_window": iso(opens[0]),
            "last_session": terminal.last_open,
        })


class _ChecksumWindow:
    __slots__ = ("lines", "corrupt", "since")

    def __init__(self) -> None:
        self.lines = 0
        self.corrupt = 0
        self.since: float | None = None


class ChecksumErrorRule(Rule):
    name = "checksum_errors"
    thresholds_type = ChecksumErrorThresholds
    summary = "a high rate of corrupt sentences (wiring or serial trouble)"

    def new_memory(self) -> _ChecksumWindow:
        return _ChecksumWindow()

    def evaluate(self, terminal: TerminalHealth, thresholds: ChecksumErrorThresholds,
                 memory: _ChecksumWindow, now: float) -> Verdict | None:
        # A quiet terminal gives too few lines per tick for a rate: windows are accumulated
        # until they hold min_lines.
        if memory.since is None:
            memory.since = terminal.window_start
        memory.lines += terminal.w_lines
        memory.corrupt += terminal.w_corrupt
        if memory.lines < thresholds.min_lines:
            return None
        rate = memory.corrupt / memory.lines
        verdict = Verdict(rate >= thresholds.max_rate, memory.since, {
            "corrupt_lines": memory.corrupt, "lines": memory.lines, "rate": round(rate, 4),
            "reasons": list(thresholds.reasons), "window_start": iso(memory.since),
        })
        memory.lines = memory.corrupt = 0
        memory.since = now
        return verdict


BUILTIN_RULES: tuple[type[Rule], ...] = (
    OfflineRule, NoFixRule, PoorAccuracyRule, PositionJumpRule, ClockDriftRule,
    ReconnectStormRule, ChecksumErrorRule, *ALARM_RULES,
)


def default_registry() -> RuleRegistry:
    """A fresh registry holding the built-in rules."""
    return RuleRegistry([cls() for cls in BUILTIN_RULES])
