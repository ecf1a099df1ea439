"""What the monitor remembers about one terminal between evaluations.

The gateway's hot path only touches the counters here (see :meth:`HealthMonitor.observe`);
rules read them once per evaluation window and the monitor resets the ``w_*`` (window) fields
after each evaluation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devices.records import Fix
from devices.session import SessionInfo
from devices.status import Alarm, DeviceStatus
from telemetry.health.config import (
    ChecksumErrorThresholds,
    PoorAccuracyThresholds,
    PositionJumpThresholds,
    ReconnectStormThresholds,
    Thresholds,
)
from telemetry.health.hysteresis import Phase, Tracker


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    """A registered terminal as the rules need it (from the ``terminals`` table)."""

    terminal_id: str
    model: str | None = None
    report_interval_s: int | None = None
    state: str | None = None


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def fix_json(fix: Fix | None, received_at: float | None = None) -> dict[str, Any] | None:
    if fix is None:
        return None
    out: dict[str, Any] = {
        "time": fix.time.isoformat().replace("+00:00", "Z"), "lat": fix.lat, "lon": fix.lon,
    }
    for name in ("speed_kn", "sats", "hdop", "fix_quality"):
        value = getattr(fix, name)
        if value is not None:
            out[name] = value
    if received_at is not None:
        out["received_at"] = iso(received_at)
    return out


_POOR = PoorAccuracyThresholds()
_JUMP = PositionJumpThresholds()
_STORM = ReconnectStormThresholds()
_CHECKSUM = ChecksumErrorThresholds()


class SessionCounters:
    """The gateway's running totals of one session as last read by the monitor."""

    __slots__ = ("session", "lines", "corrupt")

    def __init__(self, session: SessionInfo) -> None:
        self.session = session
        self.lines = 0
        self.corrupt = 0


class TerminalHealth:
    __slots__ = (
        "terminal_id", "info", "thresholds", "watched",
        # cached limits the hot path needs (from the resolved thresholds)
        "max_hdop", "min_sats", "jump_speed_ms", "jump_min_m", "corrupt_reasons",
        "sessions", "created_at", "last_rx", "active", "eval_at", "w_start",
        # current run of fix / no-fix epochs
        "in_fix_run", "run_since", "last_fix", "last_fix_rx",
        # evaluation window
        "w_records", "w_fixes", "w_nofixes", "w_poor", "w_drift", "w_drift_fix", "w_lines",
        "w_corrupt", "w_status", "w_alarms",
        # what the terminal last said about itself (binary protocols' status words)
        "status", "alarm_since",
        # sliding windows of events
        "jumps", "last_jump", "opens", "last_open",
        # totals since the monitor started (evidence)
        "t_fixes", "t_nofixes", "t_poor", "t_jumps", "t_opens", "t_lines", "t_corrupt",
        "trackers", "memories",
    )

    def __init__(self, terminal_id: str, now: float) -> None:
        self.terminal_id = terminal_id
        self.info: TerminalInfo | None = None
        self.thresholds: Mapping[str, Thresholds] = {}
        self.watched = True
        self.max_hdop = _POOR.max_hdop
        self.min_sats = _POOR.min_sats
        self.jump_speed_ms = _JUMP.max_speed_kmh / 3.6
        self.jump_min_m = _JUMP.min_distance_m
        self.corrupt_reasons: tuple[str, ...] = _CHECKSUM.reasons
        self.sessions: dict[int, SessionCounters] = {}
        self.created_at = now
        self.last_rx: float | None = None
        self.active = False
        self.eval_at = now
        self.w_start: float | None = None  # first activity of the current window
        self.in_fix_run: bool | None = None
        self.run_since: float | None = None
        self.last_fix: Fix | None = None
        self.last_fix_rx: float | None = None
        self.w_records = self.w_fixes = self.w_nofixes = self.w_poor = 0
        self.w_drift: float | None = None
        self.w_drift_fix: Fix | None = None
        self.w_lines = self.w_corrupt = 0
        #: records with a terminal status in the window, and every alarm they carried
        self.w_status = 0
        self.w_alarms: frozenset[Alarm] = frozenset()
        self.status: DeviceStatus | None = None  #: the newest status
        #: when each alarm of the newest status was first reported in its current run
        self.alarm_since: dict[Alarm, float] = {}
        self.jumps: deque[float] = deque(maxlen=_JUMP.count)
        self.last_jump: dict[str, Any] | None = None
        self.opens: deque[float] = deque(maxlen=_STORM.count)
        self.last_open: dict[str, Any] | None = None
        self.t_fixes = self.t_nofixes = self.t_poor = self.t_jumps = self.t_opens = 0
        self.t_lines = self.t_corrupt = 0
        self.trackers: dict[str, Tracker] = {}
        self.memories: dict[str, Any] = {}

    def apply_thresholds(self, thresholds: Mapping[str, Thresholds]) -> None:
        self.thresholds = thresholds
        poor = thresholds.get("poor_accuracy")
        if isinstance(poor, PoorAccuracyThresholds):
            self.max_hdop, self.min_sats = poor.max_hdop, poor.min_sats
        jump = thresholds.get("position_jump")
        if isinstance(jump, PositionJumpThresholds):
            self.jump_speed_ms = jump.max_speed_kmh / 3.6
            self.jump_min_m = jump.min_distance_m
            if self.jumps.maxlen != jump.count:
                self.jumps = deque(self.jumps, maxlen=max(1, jump.count))
        storm = thresholds.get("reconnect_storm")
        if isinstance(storm, ReconnectStormThresholds) and self.opens.maxlen != storm.count:
            self.opens = deque(self.opens, maxlen=max(1, storm.count))
        checksum = thresholds.get("checksum_errors")
        if isinstance(checksum, ChecksumErrorThresholds):
            self.corrupt_reasons = checksum.reasons

    @property
    def unsettled(self) -> bool:
        if not self.trackers:
            return False
        return any(t.phase is not Phase.OK for t in self.trackers.values())

    def counts(self) -> dict[str, int]:
        return {
            "fixes": self.t_fixes, "no_fix_epochs": self.t_nofixes, "poor_fixes": self.t_poor,
            "jumps": self.t_jumps, "session_opens": self.t_opens, "lines": self.t_lines,
            "corrupt_lines": self.t_corrupt, "sessions": len(self.sessions),
        }

    @property
    def window_start(self) -> float:
        """Start of the evaluation window: its first activity (a silence before it is not part
        of any condition), else the previous evaluation."""
        return self.w_start if self.w_start is not None else self.eval_at

    def end_window(self, now: float) -> None:
        self.active = False
        self.eval_at = now
        self.w_start = None
        self.w_records = self.w_fixes = self.w_nofixes = self.w_poor = 0
        self.w_drift = None
        self.w_drift_fix = None
        self.w_lines = self.w_corrupt = 0
        self.w_status = 0
        self.w_alarms = frozenset()
