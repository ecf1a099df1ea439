"""The health engine: per-terminal state fed by the gateway's stream, rules run on a timer.

Cost model. :meth:`HealthMonitor.observe` runs once per read batch on the gateway's data path:
a dictionary lookup, a loop that updates a few counters per record (plus one distance per fix
for the jump rule, skipped when the step is obviously short), and one clock-drift sample per
batch. Rules run in :meth:`HealthMonitor.tick` (every ``HealthConfig.tick_s``), only for
terminals with activity since the last tick or with a fault that is pending, open or clearing.

The monitor is synchronous and does no I/O: :class:`~telemetry.health.runner.HealthRunner`
calls ``tick`` and persists the events; tests drive it with a fake clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devices.records import Fix, NoFix
from devices.session import NMEA_TRANSPORTS, SessionInfo
from devices.status import Alarm, DeviceStatus
from telemetry.health.builtin_rules import default_registry
from telemetry.health.config import HealthConfig, Thresholds
from telemetry.health.geo import _M_PER_DEG, distance_m
from telemetry.health.hysteresis import FaultEvent, FaultEventKind, Tracker, Verdict
from telemetry.health.rules import Rule, RuleKind, RuleRegistry
from telemetry.health.terminal import (
    SessionCounters,
    TerminalHealth,
    TerminalInfo,
    fix_json,
    iso,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class MonitorStats:
    batches: int = 0
    records: int = 0
    ticks: int = 0
    evaluations: int = 0  #: terminal evaluations (all rules of one terminal)
    opened: int = 0
    cleared: int = 0
    rule_errors: int = 0  #: a rule raised: counted and logged, the others still run
    observe_errors: int = 0


class HealthMonitor:
    """Per-terminal health state machines.

    Args:
        config: thresholds and periods.
        registry: the rule set (default: the built-in rules).
        clock: wall-clock seconds (``time.time``); tests pass a fake.
    """

    def __init__(self, *, config: HealthConfig | None = None,
                 registry: RuleRegistry | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or HealthConfig()
        self.registry = registry if registry is not None else default_registry()
        self.registry.validate(self.config)
        self._clock = clock
        self._rules: tuple[Rule, ...] = self.registry.of_kind(RuleKind.STREAM)
        # (rule, name, keeps per-terminal memory): decided once, not per evaluation
        self._plan = tuple((r, r.name, r.new_memory() is not None) for r in self._rules)
        self._rule_names = frozenset(r.name for r in self._rules)
        self._observers = self.registry.observers()
        self._resolved: dict[str | None, dict[str, Thresholds]] = {}
        self._terminals: dict[str, TerminalHealth] = {}
        self._directory: dict[str, TerminalInfo] | None = None
        self._db_open: dict[str, dict[str, float]] = {}
        self._active: list[TerminalHealth] = []
        self._unsettled: set[TerminalHealth] = set()
        self._live: set[TerminalHealth] = set()
        self._events: list[FaultEvent] = []
        self.events_emitted = 0
        self.stats = MonitorStats()

    # configuration from the database ------------------------------------------------------

    def thresholds_for(self, model: str | None) -> dict[str, Thresholds]:
        resolved = self._resolved.get(model)
        if resolved is None:
            resolved = self._resolved[model] = self.registry.resolve(self.config, model)
        return resolved

    def set_directory(self, entries: Iterable[TerminalInfo] | None) -> None:
        """The registered terminals (model, interval, state); None = watch every terminal."""
        self._directory = None if entries is None else {e.terminal_id: e for e in entries}
        now = self._clock()
        for st in self._terminals.values():
            was, watched = st.info, st.watched
            self._apply_info(st)
            if st.watched and (not watched or st.info != was):
                # registered (or changed) while reporting: judge it at the next tick with what
                # its stream says now, not at its next read
                self._mark(st, now)

    def model_of(self, terminal_id: str) -> str | None:
        """The registered model of ``terminal_id`` (None: not registered, no model given, or
        no directory read yet)."""
        info = self._directory.get(terminal_id) if self._directory is not None else None
        return info.model if info is not None else None

    def reconcile(self, open_faults: Mapping[str, Mapping[str, float]]) -> None:
        """Align trackers with the faults open in the database (terminal → rule → opened_at).

        A fault cleared elsewhere (hardware swap reset, another gateway) resets its tracker so
        it can open again on the new hardware; one opened elsewhere is adopted so it can clear.
        Call only when no event of this monitor is waiting to be stored.
        """
        names = self._rule_names
        self._db_open = {
            tid: {r: t for r, t in rules.items() if r in names}
            for tid, rules in open_faults.items()
        }
        for st in self._terminals.values():
            in_db = self._db_open.get(st.terminal_id, {})
            for name, tracker in st.trackers.items():
                if tracker.is_open and name not in in_db:
                    tracker.reset()
            for name, opened_at in in_db.items():
                st.trackers.setdefault(name, Tracker()).adopt_open(opened_at)
            if st.unsettled:
                self._unsettled.add(st)
            else:
                self._unsettled.discard(st)

    def _apply_info(self, st: TerminalHealth) -> None:
        directory = self._directory
        info = directory.get(st.terminal_id) if directory is not None else None
        st.info = info
        st.apply_thresholds(self.thresholds_for(info.model if info else None))
        if directory is None:
            st.watched = True
        elif info is None:
            st.watched = not self.config.registered_only
        else:
            st.watched = info.state not in self.config.ignored_states

    def _terminal(self, terminal_id: str, now: float) -> TerminalHealth:
        st = self._terminals.get(terminal_id)
        if st is None:
            st = self._terminals[terminal_id] = TerminalHealth(terminal_id, now)
            self._apply_info(st)
            for name, opened_at in self._db_open.get(terminal_id, {}).items():
                st.trackers.setdefault(name, Tracker()).adopt_open(opened_at)
                self._unsettled.add(st)
        return st

    # the stream ---------------------------------------------------------------------------

    def _mark(self, st: TerminalHealth, now: float) -> None:
        if not st.active:
            st.active = True
            st.w_start = now
            self._active.append(st)

    def session_opened(self, session: SessionInfo) -> None:
        now = self._clock()
        st = self._terminal(session.terminal_id, now)
        counters = st.sessions[id(session)] = SessionCounters(session)
        # a connection's counters may predate its session (lines before $PGID, an earlier id
        # on the same connection): count from here
        counters.lines, counters.corrupt = self._totals(st, session)
        self._live.add(st)
        st.opens.append(now)
        st.t_opens += 1
        st.last_open = {"transport": str(session.transport), "remote": session.remote,
                        "at": iso(now)}
        self._mark(st, now)

    def session_closed(self, session: SessionInfo) -> None:
        st = self._terminals.get(session.terminal_id)
        if st is None:
            return
        counters = st.sessions.pop(id(session), None)
        if counters is not None:
            self._read_counters(st, counters)
        if not st.sessions:
            self._live.discard(st)
        self._mark(st, self._clock())

    def observe(self, session: SessionInfo, records: Sequence[Any]) -> None:
        """The records of one read. Never raises: health must not break ingestion."""
        try:
            self._observe(session, records)
        except Exception:
            self.stats.observe_errors += 1
            if self.stats.observe_errors <= 10:
                log.exception("health monitor failed to observe a batch of %s",
                              session.terminal_id)

    def _observe(self, session: SessionInfo, records: Sequence[Any]) -> None:
        now = self._clock()
        stats = self.stats
        stats.batches += 1
        st = self._terminals.get(session.terminal_id)
        if st is None:
            st = self._terminal(session.terminal_id, now)
        if id(session) not in st.sessions:
            # a transport that reports data without an opening (or before it): still read its
            # counters, but it is not a reconnect
            st.sessions[id(session)] = SessionCounters(session)
            self._live.add(st)
        if not st.active:
            st.active = True
            st.w_start = now
            self._active.append(st)
        st.last_rx = now
        if not records:
            return
        stats.records += len(records)
        n_fix = n_nofix = n_poor = 0
        in_run = st.in_fix_run
        last = st.last_fix
        newest: Fix | None = None
        max_hdop, min_sats = st.max_hdop, st.min_sats
        jump_min_m = st.jump_min_m
        for rec in records:
            cls = rec.__class__
            if cls is Fix:
                n_fix += 1
                if in_run is not True:
                    in_run = True
                    st.run_since = now
                h = rec.hdop
                s = rec.sats
                if (h is not None and h > max_hdop) or (s is not None and s < min_sats):
                    n_poor += 1
                if last is None or (abs(rec.lat - last.lat) + abs(rec.lon - last.lon)) \
                        * _M_PER_DEG <= jump_min_m:
                    # |dlat| + |dlon| (degrees) bounds the distance from above: almost every
                    # step ends here, without a cosine or a time difference
                    last = rec
                else:
                    dt = (rec.time - last.time).total_seconds()
                    if dt > 0:
                        self._check_jump(st, last, rec, dt, now)
                        last = rec
                    elif dt < 0:
                        last = rec  # the terminal's clock went back: start a new chain
                newest = rec
            elif cls is NoFix:
                n_nofix += 1
                if in_run is not False:
                    in_run = False
                    st.run_since = now
            else:
                observers = self._observers.get(cls)
                if observers:
                    for rule in observers:
                        rule.observe(self._memory(st, rule), rec, now, st)
        st.in_fix_run = in_run
        st.w_records += len(records)
        if n_fix:
            st.last_fix = last
            st.last_fix_rx = now
            st.w_fixes += n_fix
            st.w_poor += n_poor
            st.t_fixes += n_fix
            st.t_poor += n_poor
            if newest is not None:  # always, with n_fix > 0
                drift = newest.time.timestamp() - now
                if st.w_drift is None or abs(drift) < abs(st.w_drift):
                    st.w_drift = drift
                    st.w_drift_fix = newest
        if n_nofix:
            st.w_nofixes += n_nofix
            st.t_nofixes += n_nofix
        if session.transport not in NMEA_TRANSPORTS:  # NMEA records carry no status words
            self._fold_statuses(st, records, now)

    @staticmethod
    def _fold_statuses(st: TerminalHealth, records: Sequence[Any], now: float) -> None:
        """The alarm and status words of one read (binary protocols): counted, their alarms
        gathered for the window; the newest kept, with when each of its alarms began."""
        newest: DeviceStatus | None = None
        n = 0
        alarms: frozenset[Alarm] = frozenset()
        for rec in records:
            status = getattr(rec, "status", None)  # Fix, NoFix, StatusReport
            if status is not None:
                newest = status
                n += 1
                if status.alarms:
                    alarms |= status.alarms
        if not n:
            return
        st.w_status += n
        if alarms:
            st.w_alarms |= alarms
        st.status = newest
        current = newest.alarms if newest is not None else frozenset()
        since = st.alarm_since
        for alarm in alarms | current:
            since.setdefault(alarm, now)
        for alarm in [a for a in since if a not in current and a not in alarms]:
            del since[alarm]

    @staticmethod
    def _check_jump(st: TerminalHealth, a: Fix, b: Fix, dt: float, now: float) -> None:
        d = distance_m(a.lat, a.lon, b.lat, b.lon)
        if d > st.jump_min_m and d > st.jump_speed_ms * dt:
            st.jumps.append(now)
            st.t_jumps += 1
            st.last_jump = {
                "from": fix_json(a), "to": fix_json(b), "distance_m": round(d, 1),
                "seconds": dt, "implied_speed_kmh": round(d / dt * 3.6, 1),
            }

    @staticmethod
    def _totals(st: TerminalHealth, s: SessionInfo) -> tuple[int, int]:
        """(lines, corrupt lines) of a session so far.

        The gateway refreshes ``sentences``/``rejected`` before each publish only, but hands
        the decoder's live reject table as ``rejected_by_reason``; reading the table too means
        a terminal whose every line is corrupt (so nothing is ever published) is still seen.
        """
        by_reason = s.rejected_by_reason
        corrupt = 0
        for reason in st.corrupt_reasons:
            corrupt += by_reason.get(reason, 0)
        rejected = s.rejected
        if by_reason:
            live = sum(by_reason.values())
            if live > rejected:
                rejected = live
        return s.sentences + rejected, corrupt

    def _read_counters(self, st: TerminalHealth, counters: SessionCounters) -> bool:
        lines, corrupt = self._totals(st, counters.session)
        d_lines = lines - counters.lines
        if d_lines <= 0:
            return False
        d_corrupt = max(0, corrupt - counters.corrupt)
        counters.lines, counters.corrupt = lines, corrupt
        st.w_lines += d_lines
        st.w_corrupt += d_corrupt
        st.t_lines += d_lines
        st.t_corrupt += d_corrupt
        return True

    def _memory(self, st: TerminalHealth, rule: Rule) -> Any:
        try:
            return st.memories[rule.name]
        except KeyError:
            memory = st.memories[rule.name] = rule.new_memory()
            return memory

    # the timer ----------------------------------------------------------------------------

    def tick(self) -> list[FaultEvent]:
        """Evaluate the rules where something happened or a fault is unsettled; return the
        events of this tick (they also wait in :meth:`drain_events`)."""
        now = self._clock()
        self.stats.ticks += 1
        for st in self._live:
            for counters in st.sessions.values():
                if self._read_counters(st, counters):
                    self._mark(st, now)
        batch = self._active
        self._active = []
        todo = set(batch) | self._unsettled
        first = len(self._events)
        for st in todo:
            self._evaluate(st, now)
        return self._events[first:]

    def _evaluate(self, st: TerminalHealth, now: float) -> None:
        if st.watched:
            self.stats.evaluations += 1
            window_start = st.window_start
            thresholds = st.thresholds
            trackers = st.trackers
            for rule, name, remembers in self._plan:
                th = thresholds[name]
                if not th.enabled:
                    continue
                try:
                    memory = self._memory(st, rule) if remembers else None
                    verdict = rule.evaluate(st, th, memory, now)
                except Exception:
                    self.stats.rule_errors += 1
                    log.exception("health rule %s failed on %s", name, st.terminal_id)
                    continue
                if verdict is None:
                    continue
                tracker = trackers.get(name)
                if tracker is None:
                    if not verdict.bad:
                        continue  # healthy and nothing to track: no tracker needed
                    tracker = trackers[name] = Tracker()
                kind = tracker.step(verdict, open_after=th.open_after_s,
                                    clear_after=th.clear_after_s, now=now,
                                    window_start=window_start)
                if kind is not None:
                    self._emit(st, rule, th, verdict, tracker, kind, now)
        st.end_window(now)
        if st.unsettled:
            self._unsettled.add(st)
        else:
            self._unsettled.discard(st)

    def _emit(self, st: TerminalHealth, rule: Rule, th: Thresholds, verdict: Verdict,
              tracker: Tracker, kind: FaultEventKind, now: float) -> None:
        evidence: dict[str, Any] = {
            "rule": rule.name,
            "event": str(kind),
            "at": iso(now),
            "condition_since": iso(tracker.bad_since if kind is FaultEventKind.OPENED
                                   else tracker.recovered_since),
            "thresholds": th.as_json(),
            "observed": dict(verdict.evidence or {}),
            "last_fix": fix_json(st.last_fix, st.last_fix_rx),
            "counts": st.counts(),
            "model": st.info.model if st.info else None,
        }
        if kind is FaultEventKind.OPENED:
            tracker.open_evidence = evidence
            self.stats.opened += 1
        else:
            self.stats.cleared += 1
        self._events.append(FaultEvent(kind, st.terminal_id, rule.name,
                                       datetime.fromtimestamp(now, UTC), evidence))
        self.events_emitted += 1

    # read-out -----------------------------------------------------------------------------

    def drain_events(self) -> list[FaultEvent]:
        events, self._events = self._events, []
        return events

    def requeue(self, events: Sequence[FaultEvent]) -> None:
        """Events that could not be stored go back in front (the store was away)."""
        self._events[:0] = events

    def trim_pending(self, limit: int) -> int:
        """Drop the oldest waiting events beyond ``limit``; return how many were dropped."""
        excess = len(self._events) - limit
        if excess <= 0:
            return 0
        del self._events[:excess]
        return excess

    @property
    def pending_events(self) -> int:
        return len(self._events)

    def terminal(self, terminal_id: str) -> TerminalHealth | None:
        return self._terminals.get(terminal_id)

    def open_faults(self) -> dict[str, list[str]]:
        """terminal → rules whose fault this monitor holds open."""
        out: dict[str, list[str]] = {}
        for tid, st in self._terminals.items():
            rules = [n for n, t in st.trackers.items() if t.is_open]
            if rules:
                out[tid] = sorted(rules)
        return out
