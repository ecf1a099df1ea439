"""A fleet of virtual terminals sending over one transport.

::

    async with Fleet(transport=TcpTransport("127.0.0.1", 5000), terminals=50, interval=1.0,
                     faults=[parse_fault("no_fix@30s+60s")], duration=120,
                     clock=ScaledClock(speed=20), truth=truth) as fleet:
        await fleet.wait()
    print(fleet.stats.snapshot())

Each terminal is one task: it wakes at its report times (and at fault boundaries, storm cycles
and reconnect attempts), keeps its link in the state its faults ask for, and sends. A link that
fails is reopened with capped, jittered backoff; reports that fall due while it is down are
counted as ``lost`` (these terminals do not store and forward).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from types import TracebackType

from devices.nmea import Reject
from devices.records import Fix, NoFix
from simulators.clock import Clock, RealClock
from simulators.errors import SpecError, TransportError
from simulators.faults import Fault
from simulators.route import RouteConfig
from simulators.sentences import SentenceProfile
from simulators.terminal import LinkPlan, Report, TerminalConfig, VirtualTerminal
from simulators.transports.base import Backoff, Link, Transport
from simulators.truth import TruthSink

log = logging.getLogger(__name__)

#: connect attempts in flight at once: 10,000 terminals dialling in the same second would
#: overflow the server's accept backlog and turn a start-up into a reconnect storm
CONNECT_CONCURRENCY = 64


@dataclass(slots=True)
class FleetStats:
    """Live counters of a fleet (read them any time; :meth:`snapshot` for a copy)."""

    terminals: int = 0
    connected: int = 0  #: links open now
    reports: int = 0  #: epochs that fell due
    sent_reports: int = 0  #: epochs handed to the transport
    sentences: int = 0  #: NMEA sentences sent
    bytes: int = 0
    fixes: int = 0  #: valid-fix epochs sent
    no_fixes: int = 0  #: no-fix epochs sent
    silent: int = 0  #: epochs held back by a silent fault
    lost: int = 0  #: epochs due while the link was down
    corrupted: int = 0  #: sentences sent with a wrong checksum on purpose
    noise_lines: int = 0  #: garbage and overlong lines sent
    connects: int = 0
    reconnects: int = 0  #: connects after a terminal's first
    disconnects: int = 0  #: links closed by faults or lost
    connect_failures: int = 0
    send_failures: int = 0
    faults_active: int = 0  #: (terminal, fault) pairs active now

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class _Term:
    vt: VirtualTerminal
    link: Link
    index: int
    ever_connected: bool = False
    up: bool = False  #: the runner believes the link is open
    failures: int = 0
    retry_at: float | None = None
    storm_next: float | None = None
    active: int = 0
    lag: float = 0.0  #: seconds from an epoch to its transmission
    rng: random.Random = field(default_factory=random.Random)


def terminal_ids(count: int, prefix: str = "SIM") -> list[str]:
    """``SIM0001``... (at least four digits, more for big fleets)."""
    width = max(4, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def faults_for(faults: Sequence[Fault], ids: Sequence[str]) -> list[tuple[Fault, ...]]:
    """Per terminal, the faults whose target selects it; a target naming no terminal is an
    error (a typo would otherwise make a test silently fault-free)."""
    out: list[list[Fault]] = [[] for _ in ids]
    for fault in faults:
        hit = False
        for i, tid in enumerate(ids):
            if fault.target.matches(tid, i, len(ids)):
                out[i].append(fault)
                hit = True
        if not hit and not fault.target.text.endswith("%"):
            raise SpecError(f"fault {fault} targets {fault.target.text!r}, which matches none "
                            f"of the fleet's terminals ({ids[0]}..{ids[-1]})")
    return [tuple(f) for f in out]


class Fleet:
    """N virtual terminals over one transport; an async context manager.

    Args:
        transport: where they send (entered and left with the fleet).
        terminals: how many.
        interval: seconds between reports of each terminal (1 / rate).
        seed: fixes routes, phases and fault randomness.
        id_prefix: terminal ids are ``<prefix>0001``...
        faults: fault specs; each applies to the terminals its target selects.
        profile: sentences per epoch.
        route: driving area and behaviour.
        clock: real time by default; :class:`~simulators.clock.ScaledClock` for fast tests.
        duration: seconds of simulated time to run (reports at times ``< duration``); None
            runs until :meth:`stop`.
        stagger: spread the terminals' reports over the interval, as unsynchronised terminals
            are: epochs stay on whole seconds (receivers' epochs are) for intervals of a
            second or more, and transmissions are spread over the second after them.
        backoff: reconnect delays.
        truth: receives every report handed to the transport.
        progress: called with the stats every ``progress_every`` real seconds.
    """

    def __init__(self, *, transport: Transport, terminals: int = 1, interval: float = 1.0,
                 seed: int = 0, id_prefix: str = "SIM", faults: Sequence[Fault] = (),
                 profile: SentenceProfile | None = None, route: RouteConfig | None = None,
                 clock: Clock | None = None, duration: float | None = None,
                 stagger: bool = True, backoff: Backoff | None = None,
                 truth: TruthSink | None = None,
                 progress: Callable[[FleetStats, float], None] | None = None,
                 progress_every: float = 5.0) -> None:
        if terminals < 1:
            raise SpecError("a fleet needs at least one terminal")
        if duration is not None and duration <= 0:
            raise SpecError("duration must be positive")
        self.transport = transport
        self.interval = interval
        self.seed = seed
        self.duration = duration
        self.clock: Clock = clock if clock is not None else RealClock()
        self.backoff = backoff or Backoff()
        self.truth = truth
        self._progress = progress
        self._progress_every = progress_every
        self.ids = terminal_ids(terminals, id_prefix)
        per_terminal = faults_for(faults, self.ids)
        profile = profile or SentenceProfile()
        route = route or RouteConfig()
        self.configs = []
        self._lags: list[float] = []
        for i, (tid, mine) in enumerate(zip(self.ids, per_terminal, strict=True)):
            phase = lag = 0.0
            if stagger:
                spread = i * interval / terminals
                if interval >= 1.0:
                    phase = float(math.floor(spread))
                    lag = spread - phase
                else:
                    lag = spread
            self._lags.append(lag)
            self.configs.append(TerminalConfig(terminal_id=tid, interval=interval, phase=phase,
                                               profile=profile, route=route, seed=seed,
                                               faults=mine))
        self.stats = FleetStats(terminals=terminals)
        self._terms: list[_Term] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._connect_gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        self._entered = False

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Fleet:
        await self.transport.__aenter__()
        self._entered = True
        start = self.clock.start
        for i, cfg in enumerate(self.configs):
            vt = VirtualTerminal(cfg, start=start)
            rng = random.Random(f"{self.seed}:{cfg.terminal_id}:backoff")
            self._terms.append(_Term(vt, self.transport.link(cfg.terminal_id), i,
                                     lag=self._lags[i], rng=rng))
        for term in self._terms:
            self._tasks.append(asyncio.create_task(self._run(term),
                                                   name=f"sim-terminal-{term.vt.terminal_id}"))
        if self._progress is not None:
            self._tasks.append(asyncio.create_task(self._report_progress(),
                                                   name="sim-fleet-progress"))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def wait(self) -> None:
        """Until every terminal has sent its last report (needs a ``duration``); re-raises a
        terminal task's unexpected error."""
        if self.duration is None:
            raise RuntimeError("a fleet without duration runs until stop(); nothing to wait for")
        terminals = [t for t in self._tasks if t.get_name() != "sim-fleet-progress"]
        await asyncio.gather(*terminals)

    async def stop(self) -> None:
        """Cancel the terminals, close their links, leave the transport. Idempotent."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for term in self._terms:
            term.up = False
            await term.link.close()
        self.stats.connected = 0
        if self._entered:
            self._entered = False
            await self.transport.__aexit__(None, None, None)
        for result in results:
            if isinstance(result, Exception):
                raise result

    def snapshot(self) -> dict[str, int]:
        """A copy of the counters, with ``connected`` counted now."""
        self.stats.connected = sum(1 for t in self._terms if t.link.is_open)
        return self.stats.snapshot()

    @property
    def links(self) -> dict[str, Link]:
        return {t.vt.terminal_id: t.link for t in self._terms}

    @property
    def terminals(self) -> list[VirtualTerminal]:
        return [t.vt for t in self._terms]

    # -- one terminal ----------------------------------------------------------------------

    async def _run(self, term: _Term) -> None:
        vt = term.vt
        boundaries = vt.fault_boundaries()
        b_index = 0
        t = 0.0
        # a terminal dials in when the fleet starts (powered on), not at its first report, so
        # that a staggered fleet is fully connected from the start
        await self._steer(term, vt.link_plan(t), t)
        while True:
            tick_at = vt.at(vt.next_tick)
            if self.duration is not None and tick_at >= self.duration:
                return
            send_at = tick_at + term.lag
            while b_index < len(boundaries) and boundaries[b_index] <= t:
                b_index += 1
            wake = send_at
            if b_index < len(boundaries):
                wake = min(wake, boundaries[b_index])
            if term.storm_next is not None:
                wake = min(wake, term.storm_next)
            if term.retry_at is not None and not term.link.is_open:
                wake = min(wake, term.retry_at)
            await self.clock.sleep_until(wake)
            t = wake
            active = len(vt.active_faults(t))
            self.stats.faults_active += active - term.active
            term.active = active
            await self._steer(term, vt.link_plan(t), t)
            if t == send_at:
                await self._report(term, vt.next_report(), t)

    async def _steer(self, term: _Term, plan: LinkPlan, t: float) -> None:
        """Bring the link to what the faults want at ``t``."""
        link = term.link
        if term.up and not link.is_open:
            await self._lost(term, t, backoff=False)  # the peer closed since we last looked
        if not plan.up:
            term.storm_next = None
            if term.up:
                await self._close(term)
            return
        if plan.storm_every is None:
            term.storm_next = None
        else:
            if term.storm_next is None:
                term.storm_next = t
            if t >= term.storm_next:
                while term.storm_next <= t:
                    term.storm_next += plan.storm_every
                if term.up:
                    await self._close(term)
                term.retry_at = None  # a storm reconnects at once: that is the symptom
        if not link.is_open and (term.retry_at is None or t >= term.retry_at):
            await self._open(term, t)

    async def _open(self, term: _Term, t: float) -> None:
        async with self._connect_gate:
            try:
                await term.link.open()
            except TransportError as exc:
                term.failures += 1
                self.stats.connect_failures += 1
                term.retry_at = t + self.backoff.delay(term.failures, term.rng)
                log.debug("%s", exc)
                return
        term.failures = 0
        term.retry_at = None
        term.up = True
        self.stats.connects += 1
        if term.ever_connected:
            self.stats.reconnects += 1
        term.ever_connected = True

    async def _close(self, term: _Term) -> None:
        term.up = False
        await term.link.close()
        self.stats.disconnects += 1

    async def _report(self, term: _Term, report: Report, t: float) -> None:
        stats = self.stats
        stats.reports += 1
        if not report.data:
            stats.silent += 1
            return
        link = term.link
        if not link.is_open:
            stats.lost += 1  # still backing off after a failure
            return
        try:
            sent = await link.send_report(report)
        except TransportError as exc:
            log.debug("%s", exc)
            stats.send_failures += 1
            stats.lost += 1
            await self._lost(term, t)
            return
        stats.sent_reports += 1
        stats.sentences += report.sentences
        stats.bytes += sent
        for reason, count in report.rejects.items():
            if reason is Reject.BAD_CHECKSUM:
                stats.corrupted += count
            else:
                stats.noise_lines += count
        if isinstance(report.record, Fix):
            stats.fixes += 1
        elif isinstance(report.record, NoFix):
            stats.no_fixes += 1
        if self.truth is not None:
            self.truth.add(report)

    async def _lost(self, term: _Term, t: float, *, backoff: bool = True) -> None:
        """The link broke under us: tidy up, and back off unless a reconnect may go at once
        (a terminal that sees its connection closed dials again straight away)."""
        await self._close(term)
        if backoff:
            term.failures += 1
            term.retry_at = t + self.backoff.delay(term.failures, term.rng)

    async def _report_progress(self) -> None:
        assert self._progress is not None
        while True:
            await asyncio.sleep(self._progress_every)
            self.snapshot()
            self._progress(self.stats, self.clock.elapsed())
