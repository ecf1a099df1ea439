"""Running health in a gateway process: the monitor's timer, persistence and the sweep.

:class:`HealthRunner` ticks the monitor, stores its events (re-queueing them while the
database is away) and periodically re-reads the terminal registry and the open faults.
:class:`HealthStack` is what ``fieldgate gateway`` / ``serve`` use::

    async with HealthStack(db=db, config=settings.to_config()) as health:
        sink = health.wrap(ingest)          # give this to the transports
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from devices.session import TelemetrySink
from telemetry.dburl import DatabaseURL
from telemetry.health.config import HealthConfig
from telemetry.health.metrics import HealthCollector
from telemetry.health.monitor import HealthMonitor
from telemetry.health.rules import RuleRegistry
from telemetry.health.sink import HealthSink
from telemetry.health.store import FaultStore
from telemetry.health.sweep import OfflineSweeper

log = logging.getLogger(__name__)

#: events kept in memory while the database is away; beyond it the oldest are dropped
#: (and counted): a fault event is derived data, the stream keeps flowing
MAX_PENDING_EVENTS = 100_000


class HealthRunner:
    """Ticks ``monitor`` every ``config.tick_s`` and stores its events in ``store``.

    Args:
        monitor: the monitor to drive.
        store: where faults go.
    """

    def __init__(self, *, monitor: HealthMonitor, store: FaultStore) -> None:
        self.monitor = monitor
        self.store = store
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self.dropped_events = 0
        self.store_errors = 0
        self.registry_errors = 0  #: the registry's change counter could not be read
        self.synced = False
        self.syncs = 0
        #: ``registry_changes.serial`` as of the last sync (None: not read yet)
        self._registry_serial: int | None = None

    async def __aenter__(self) -> HealthRunner:
        try:
            await self.sync()
        except Exception:
            # the gateway must start without its database (it spools); health catches up
            log.exception("health: first registry/fault sync failed; retrying in the background")
        cfg = self.monitor.config
        self._tasks = [
            asyncio.create_task(self._every(cfg.tick_s, self.tick), name="health-tick"),
            asyncio.create_task(self._every(cfg.sync_every_s, self.sync), name="health-sync"),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await self.tick()
        except Exception:
            log.warning("health: %d fault event(s) not stored at shutdown (database away)",
                        self.monitor.pending_events)

    async def _every(self, period: float, action: Callable) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await action()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("health: %s failed", getattr(action, "__name__", action))

    async def tick(self) -> None:
        await self.follow_registry()
        self.monitor.tick()
        await self.flush()

    async def follow_registry(self) -> bool:
        """Re-sync when ``terminals`` changed since the last sync (one single-row read).

        A terminal registered, swapped or retired while the gateway runs is then judged with
        its registry entry from the next tick on, in every process. Returns whether it synced;
        a database that is away is counted and left to the next tick (the stream goes on).
        """
        try:
            serial = await self.store.registry_serial()
            if serial == self._registry_serial:
                return False
            await self.sync(serial=serial)
        except Exception:
            self.registry_errors += 1
            log.debug("health: registry check failed", exc_info=True)
            return False
        return True

    async def flush(self) -> None:
        async with self._lock:
            events = self.monitor.drain_events()
            if not events:
                return
            try:
                await self.store.record(events)
            except Exception:
                self.store_errors += 1
                self.monitor.requeue(events)
                self.dropped_events += self.monitor.trim_pending(MAX_PENDING_EVENTS)
                raise

    async def sync(self, *, serial: int | None = None) -> None:
        """Re-read registry and open faults; reconcile the monitor with them.

        Args:
            serial: the registry's change counter, read before this call (read here if None);
                read first, so a change racing the read is seen again on the next check.
        """
        await self.flush()
        async with self._lock:
            emitted = self.monitor.events_emitted
            if serial is None:
                serial = await self.store.registry_serial()
            directory = await self.store.directory()
            open_faults = await self.store.open_fault_map()
            self.monitor.set_directory(directory)
            if self.monitor.events_emitted == emitted and not self.monitor.pending_events:
                # nothing happened while we read: the snapshot is not older than the monitor
                self.monitor.reconcile(open_faults)
            self._registry_serial = serial
            self.synced = True
            self.syncs += 1


class HealthStack:
    """Monitor, runner and offline sweep for one gateway process.

    Args:
        db: the database the gateway writes to.
        config: thresholds and periods.
        registry: the rule set (default: built-in rules).
        sweep: run the offline sweep here (on PostgreSQL it still acts only while holding
            the advisory lock, so every gateway can leave this on).
        clock: wall-clock seconds.
    """

    def __init__(self, *, db: DatabaseURL, config: HealthConfig | None = None,
                 registry: RuleRegistry | None = None, sweep: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or HealthConfig()
        self.monitor = HealthMonitor(config=self.config, registry=registry, clock=clock)
        self.store = FaultStore(db=db)
        self.runner = HealthRunner(monitor=self.monitor, store=self.store)
        self.sweeper = (OfflineSweeper(store=self.store, config=self.config,
                                       registry=self.monitor.registry, clock=clock)
                        if sweep else None)
        self._stack = contextlib.AsyncExitStack()
        #: Prometheus collector (register it where the process serves ``/metrics``)
        self.collector = HealthCollector(self)

    def wrap(self, sink: TelemetrySink) -> HealthSink:
        return HealthSink(inner=sink, monitor=self.monitor)

    async def __aenter__(self) -> HealthStack:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.store)
            await stack.enter_async_context(self.runner)
            if self.sweeper is not None:
                await stack.enter_async_context(self.sweeper)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
