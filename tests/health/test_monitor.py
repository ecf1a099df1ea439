"""The stream rules on a fake clock: each opens once after its delay, clears once after its
recovery delay, and stays quiet on a healthy terminal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from telemetry.health import (
    ChecksumErrorThresholds,
    ClockDriftThresholds,
    FaultEvent,
    FaultEventKind,
    HealthConfig,
    HealthMonitor,
    NoFixThresholds,
    PoorAccuracyThresholds,
    PositionJumpThresholds,
    ReconnectStormThresholds,
    TerminalInfo,
)
from tests.health.streams import Clock, Drive, session

TID = "T55-0001"


def make(clock: Clock, **rules) -> HealthMonitor:
    return HealthMonitor(config=HealthConfig(rules=rules, tick_s=1.0), clock=clock)


def run(monitor: HealthMonitor, clock: Clock, seconds: float,
        feed: Callable[[], None] | None = None, step: float = 1.0) -> list[FaultEvent]:
    events: list[FaultEvent] = []
    end = clock.now + seconds
    while clock.now < end - 1e-9:
        clock.advance(step)
        if feed is not None:
            feed()
        events += monitor.tick()
    return events


def kinds(events: list[FaultEvent]) -> list[tuple[str, str]]:
    return [(e.rule, str(e.kind)) for e in events]


def test_healthy_terminal_opens_nothing_in_an_hour() -> None:
    clock = Clock()
    m = make(clock)
    s = session(TID, clock)
    m.session_opened(s)
    car = Drive(clock, speed_kmh=90)

    def feed() -> None:
        s.sentences += 3
        m.observe(s, [car.fix()])

    assert run(m, clock, 3600, feed) == []
    assert m.stats.records == 3600 and m.stats.evaluations == 3600
    assert m.open_faults() == {}


def test_no_fix_opens_after_t_and_clears_after_recovery_holds() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(open_after_s=30, clear_after_s=10))
    s = session(TID, clock)
    m.session_opened(s)
    car = Drive(clock)
    assert run(m, clock, 5, lambda: m.observe(s, [car.fix()])) == []
    # antenna cut: the receiver still reports, without a fix
    events = run(m, clock, 29, lambda: m.observe(s, [car.no_fix()]))
    assert events == []  # not yet T
    events = run(m, clock, 5, lambda: m.observe(s, [car.no_fix()]))
    assert kinds(events) == [("no_fix", "opened")]
    opened = events[0]
    assert opened.evidence["thresholds"]["open_after_s"] == 30
    assert opened.evidence["last_fix"]["lat"] == pytest.approx(car.lat)
    assert opened.evidence["observed"]["no_fix_since"] is not None
    # a short burst of fixes (less than the clear delay) then no fix again: stays open
    assert run(m, clock, 5, lambda: m.observe(s, [car.fix()])) == []
    assert run(m, clock, 20, lambda: m.observe(s, [car.no_fix()])) == []
    events = run(m, clock, 15, lambda: m.observe(s, [car.fix()]))
    assert kinds(events) == [("no_fix", "cleared")]
    assert m.open_faults() == {}


def test_no_fix_needs_persistence_a_fix_in_between_restarts_the_clock() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(open_after_s=30))
    s = session(TID, clock)
    car = Drive(clock)
    tick = iter(range(10_000))

    def flapping() -> None:  # 20 s without fix, then one fix: never 30 s in a row
        m.observe(s, [car.fix() if next(tick) % 20 == 19 else car.no_fix()])

    assert run(m, clock, 600, flapping) == []


def test_a_silent_terminal_neither_opens_nor_clears_no_fix() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(open_after_s=10, clear_after_s=5))
    s = session(TID, clock)
    car = Drive(clock)
    assert kinds(run(m, clock, 12, lambda: m.observe(s, [car.no_fix()]))) == [
        ("no_fix", "opened")]
    assert run(m, clock, 120) == []  # silence: the offline sweep's business
    assert m.open_faults() == {TID: ["no_fix"]}


def test_poor_accuracy_high_hdop_or_few_satellites() -> None:
    clock = Clock()
    m = make(clock, poor_accuracy=PoorAccuracyThresholds(open_after_s=20, clear_after_s=10,
                                                         max_hdop=4.0))
    s = session(TID, clock)
    car = Drive(clock)
    assert run(m, clock, 10, lambda: m.observe(s, [car.fix(hdop=3.9)])) == []
    assert run(m, clock, 15, lambda: m.observe(s, [car.fix(hdop=9.5)])) == []
    events = run(m, clock, 10, lambda: m.observe(s, [car.fix(sats=3, hdop=1.0)]))
    assert kinds(events) == [("poor_accuracy", "opened")]
    assert events[0].evidence["observed"]["last_sats"] == 3
    events = run(m, clock, 12, lambda: m.observe(s, [car.fix()]))
    assert kinds(events) == [("poor_accuracy", "cleared")]


def test_poor_accuracy_ignores_an_occasional_bad_fix() -> None:
    clock = Clock()
    m = make(clock, poor_accuracy=PoorAccuracyThresholds(open_after_s=5))
    s = session(TID, clock)
    car = Drive(clock)
    n = iter(range(10_000))

    def feed() -> None:  # five fixes per second, one of them poor
        m.observe(s, [car.fix(hdop=12.0 if next(n) % 5 == 0 else 1.0) for _ in range(5)])

    assert run(m, clock, 120, feed) == []


def test_position_jumps_open_after_count_within_window() -> None:
    clock = Clock()
    m = make(clock, position_jump=PositionJumpThresholds(count=2, window_s=60,
                                                         clear_after_s=30))
    s = session(TID, clock)
    car = Drive(clock, speed_kmh=120)
    assert run(m, clock, 30, lambda: m.observe(s, [car.fix()])) == []
    clock.advance(1)
    m.observe(s, [car.fix(lat=car.lat + 0.5)])  # 55 km in one second
    assert m.tick() == []  # one jump (there) is not yet two
    clock.advance(1)
    m.observe(s, [car.fix()])  # and back: the second jump
    events = m.tick()
    assert kinds(events) == [("position_jump", "opened")]
    jump = events[0].evidence["observed"]["last_jump"]
    assert jump["distance_m"] > 50_000 and jump["implied_speed_kmh"] > 100_000
    # jumps age out of the window, then recovery must hold 30 s
    events = run(m, clock, 60, lambda: m.observe(s, [car.fix()]))
    assert events == []
    events = run(m, clock, 40, lambda: m.observe(s, [car.fix()]))
    assert kinds(events) == [("position_jump", "cleared")]


def test_fast_but_possible_driving_and_receiver_noise_are_not_jumps() -> None:
    clock = Clock()
    m = make(clock, position_jump=PositionJumpThresholds(count=1))
    s = session(TID, clock)
    car = Drive(clock, speed_kmh=240)  # fast, under the 250 km/h limit
    n = iter(range(100_000))

    def feed() -> None:
        # 1 Hz receiver noise of up to ~300 m (way above 250 km/h over one second)
        wobble = 0.0027 if next(n) % 2 else 0.0
        m.observe(s, [car.fix(lat=car.lat + wobble)])

    assert run(m, clock, 600, feed) == []
    assert m.terminal(TID).t_jumps == 0


def test_a_long_gap_is_not_a_jump_and_a_clock_going_back_starts_a_new_chain() -> None:
    clock = Clock()
    m = make(clock, position_jump=PositionJumpThresholds(count=1))
    s = session(TID, clock)
    car = Drive(clock)
    m.observe(s, [car.fix()])
    clock.advance(3600)
    m.observe(s, [car.fix(lon=car.lon + 0.5)])  # 37 km in an hour
    car.skew_s = -7200
    clock.advance(1)
    m.observe(s, [car.fix(lon=car.lon + 3)])  # earlier fix time: no speed can be computed
    clock.advance(1)
    m.observe(s, [car.fix(lon=car.lon + 3)])
    assert m.tick() == []


def test_clock_drift_uses_the_least_drift_of_the_window() -> None:
    clock = Clock()
    m = make(clock, clock_drift=ClockDriftThresholds(max_drift_s=60, open_after_s=10,
                                                     clear_after_s=10))
    s = session(TID, clock)
    car = Drive(clock)
    backlog = Drive(clock, skew_s=-3 * 3600)
    # a store-and-forward backlog of three-hour-old fixes next to live ones: no drift
    assert run(m, clock, 30, lambda: m.observe(s, [backlog.fix(), car.fix()])) == []
    car.skew_s = 3600  # the terminal's clock is an hour ahead
    events = run(m, clock, 12, lambda: m.observe(s, [car.fix()]))
    assert kinds(events) == [("clock_drift", "opened")]
    assert events[0].evidence["observed"]["drift_s"] == pytest.approx(3600, abs=1)
    car.skew_s = 0.5
    assert kinds(run(m, clock, 12, lambda: m.observe(s, [car.fix()]))) == [
        ("clock_drift", "cleared")]


def test_reconnect_storm() -> None:
    clock = Clock()
    m = make(clock, reconnect_storm=ReconnectStormThresholds(count=5, window_s=60,
                                                             clear_after_s=30))
    car = Drive(clock)
    # a reconnect every 30 s is normal life on a cellular network
    for _ in range(10):
        s = session(TID, clock)
        m.session_opened(s)
        m.observe(s, [car.fix()])
        m.session_closed(s)
        assert run(m, clock, 30) == []

    events: list[FaultEvent] = []
    for _ in range(6):  # then one every 3 s
        s = session(TID, clock)
        m.session_opened(s)
        m.observe(s, [car.fix()])
        m.session_closed(s)
        events += run(m, clock, 3)
    assert kinds(events) == [("reconnect_storm", "opened")]
    assert events[0].evidence["observed"]["opens_in_window"] >= 5
    s = session(TID, clock)
    m.session_opened(s)  # stable now
    events = run(m, clock, 120, lambda: m.observe(s, [car.fix()]))
    assert kinds(events) == [("reconnect_storm", "cleared")]


def test_checksum_errors_from_the_session_counters() -> None:
    clock = Clock()
    m = make(clock, checksum_errors=ChecksumErrorThresholds(max_rate=0.2, min_lines=20,
                                                            open_after_s=10, clear_after_s=10))
    s = session(TID, clock)
    m.session_opened(s)
    car = Drive(clock)

    def lines(good: int, bad: int) -> Callable[[], None]:
        def feed() -> None:
            s.sentences += good
            s.rejected += bad
            s.rejected_by_reason["bad_checksum"] = s.rejected_by_reason.get("bad_checksum",
                                                                             0) + bad
            m.observe(s, [car.fix()])
        return feed

    assert run(m, clock, 60, lines(5, 0)) == []
    # garbage is not a checksum error (other reasons are not counted by default)
    s.rejected_by_reason["no_sentence"] = 1000
    s.rejected += 1000
    assert run(m, clock, 30, lines(5, 0)) == []
    events = run(m, clock, 30, lines(3, 2))  # 40 % corrupt
    assert kinds(events) == [("checksum_errors", "opened")]
    observed = events[0].evidence["observed"]
    assert observed["rate"] >= 0.2 and observed["lines"] >= 20
    assert kinds(run(m, clock, 40, lines(5, 0))) == [("checksum_errors", "cleared")]


def test_checksum_errors_counted_when_no_record_is_decoded_at_all() -> None:
    """A wiring fault can corrupt every line: no publish carries records, so the gateway never
    refreshes ``sentences``/``rejected``; its live reject table still tells (the monitor reads
    live sessions at each tick)."""
    clock = Clock()
    m = make(clock, checksum_errors=ChecksumErrorThresholds(min_lines=10, open_after_s=5))
    s = session(TID, clock)
    m.session_opened(s)

    def all_bad() -> None:
        s.rejected_by_reason["bad_checksum"] = s.rejected_by_reason.get("bad_checksum", 0) + 4

    assert kinds(run(m, clock, 12, all_bad)) == [("checksum_errors", "opened")]


def test_unregistered_and_retired_terminals_are_not_judged() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(open_after_s=5))
    m.set_directory([TerminalInfo("REG-1", state="installed"),
                     TerminalInfo("OLD-1", state="scrapped")])
    sessions = {tid: session(tid, clock) for tid in ("REG-1", "OLD-1", "STRANGER")}
    car = Drive(clock)

    def feed() -> None:
        for s in sessions.values():
            m.observe(s, [car.no_fix()])

    events = run(m, clock, 10, feed)
    assert [(e.terminal_id, e.rule) for e in events] == [("REG-1", "no_fix")]
    # once registered, the stranger is watched too
    m.set_directory([TerminalInfo("REG-1"), TerminalInfo("STRANGER", state="installed")])
    events = run(m, clock, 10, feed)
    assert [(e.terminal_id, e.rule) for e in events] == [("STRANGER", "no_fix")]


def test_per_model_thresholds() -> None:
    clock = Clock()
    config = HealthConfig(
        rules={"poor_accuracy": PoorAccuracyThresholds(open_after_s=5, max_hdop=3.0)},
        models={"CHEAP-GPS": {"poor_accuracy": {"max_hdop": 10.0}}},
    )
    m = HealthMonitor(config=config, clock=clock)
    m.set_directory([TerminalInfo("A", model="T55"), TerminalInfo("B", model="CHEAP-GPS")])
    sa, sb = session("A", clock), session("B", clock)
    car = Drive(clock)

    def feed() -> None:
        m.observe(sa, [car.fix(hdop=6.0)])
        m.observe(sb, [car.fix(hdop=6.0)])

    events = run(m, clock, 10, feed)
    assert [(e.terminal_id, e.rule) for e in events] == [("A", "poor_accuracy")]
    assert events[0].evidence["thresholds"]["max_hdop"] == 3.0


def test_reconcile_adopts_and_forgets_faults_of_the_database() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(open_after_s=5, clear_after_s=5))
    s = session(TID, clock)
    car = Drive(clock)
    assert kinds(run(m, clock, 8, lambda: m.observe(s, [car.no_fix()]))) == [
        ("no_fix", "opened")]
    # a repair swapped the SIM: the database cleared it; the condition persists on the new
    # hardware, so it opens again (once)
    m.reconcile({})
    events = run(m, clock, 8, lambda: m.observe(s, [car.no_fix()]))
    assert kinds(events) == [("no_fix", "opened")]
    # another gateway opened poor_accuracy for a terminal this one now serves: adopted, and
    # cleared here when the terminal is fine
    m.reconcile({TID: {"no_fix": clock.now, "poor_accuracy": clock.now - 100}})
    events = run(m, clock, 200, lambda: m.observe(s, [car.fix()]))
    assert sorted(kinds(events)) == [("no_fix", "cleared"), ("poor_accuracy", "cleared")]


def test_a_failing_rule_is_counted_and_the_others_still_run() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(open_after_s=3))
    broken = m.registry.get("clock_drift")
    broken.evaluate = lambda *a: 1 / 0  # type: ignore[method-assign]
    s = session(TID, clock)
    car = Drive(clock)
    events = run(m, clock, 5, lambda: m.observe(s, [car.no_fix(), car.fix(), car.no_fix()]))
    assert kinds(events) == [("no_fix", "opened")]
    assert m.stats.rule_errors == 5


def test_observe_never_raises_on_odd_records() -> None:
    clock = Clock()
    m = make(clock)
    s = session(TID, clock)
    m.observe(s, [object(), None, "$GPRMC"])  # types nobody observes: ignored
    m.observe(s, [])
    assert m.stats.observe_errors == 0
    m.observe(s, [Drive(clock).fix(), Drive(clock).fix(time=None)])  # broken record
    assert m.stats.observe_errors == 1
    assert m.tick() == []


def test_disabled_rule_never_opens() -> None:
    clock = Clock()
    m = make(clock, no_fix=NoFixThresholds(enabled=False, open_after_s=1))
    s = session(TID, clock)
    car = Drive(clock)
    assert run(m, clock, 30, lambda: m.observe(s, [car.no_fix()])) == []


@pytest.mark.parametrize("kind", list(FaultEventKind))
def test_event_kinds_are_strings(kind: FaultEventKind) -> None:
    assert str(kind) in {"opened", "cleared"}
