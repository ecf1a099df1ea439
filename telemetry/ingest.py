"""The gateway's :class:`~gateway.sink.TelemetrySink`: registry, batching, writer, spool, replay.

::

    publish() ──► PendingBatch ──(every flush_interval or batch_max_rows)──► writer task
                  (list appends,                                  │ spool empty?
                   dict updates)                    yes: Store.write (one transaction)
                                                      │ database away / batch refused
                                                      ▼
                                                   Spool (disk) ──► replay task ──► Store.write
                                                                    (backoff while away,
                                                                     delete after commit)

Order is kept: while the spool holds anything, new batches are appended behind it rather than
written directly, so ``terminal_state`` (connected flags, last fix) never goes back in time.
Backpressure: ``publish`` waits while ``queue_max_rows`` fixes are in memory; the writer waits
while the spool is full; so a database outage longer than the spool holds slows the gateway's
reads instead of dropping anything.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType

from devices.records import Fix, Record
from devices.session import NMEA_TRANSPORTS, SessionInfo
from telemetry.batch import Batch, PendingBatch, StateDelta, UnknownDelta, newer
from telemetry.config import IngestConfig
from telemetry.dburl import DatabaseURL
from telemetry.errors import BatchRejected, IngestClosed, SpoolError, StorageUnavailable
from telemetry.metrics import IngestMetrics, TelemetryCollector
from telemetry.registry import Registration, Registry
from telemetry.spool import Spool
from telemetry.store import Store, WriteResult, open_store

log = logging.getLogger(__name__)

MAX_TERMINAL_ID = 64  #: length of terminals.terminal_id / positions.terminal_id
LEDGER_PRUNE_EVERY = 3600.0
#: batches handed at once to a store that takes them while it writes (``pipelined``)
WRITE_AHEAD = 2
_REGISTERED = Registration.REGISTERED
_UNREGISTERED = Registration.UNREGISTERED
_UNDETERMINED = Registration.UNDETERMINED


def terminal_id_problem(terminal_id: object) -> str | None:
    """Why this terminal id cannot be stored, or None when it can."""
    if not isinstance(terminal_id, str) or not terminal_id:
        return "empty or not text"
    if len(terminal_id) > MAX_TERMINAL_ID:
        return f"longer than {MAX_TERMINAL_ID} characters"
    if "\x00" in terminal_id:
        return "contains NUL"
    try:
        terminal_id.encode()
    except UnicodeEncodeError:
        return "not encodable as UTF-8"
    return None


class Ingest:
    """Stores what the gateway decodes. An async context manager::

        async with Ingest(db=DatabaseURL.parse(url), config=IngestConfig(spool_dir=...)) as sink:
            registry.register(sink.collector)   # Prometheus
            ...                                 # hand `sink` to the gateway

    Entering opens the spool (replaying what a previous process left), loads the registry and
    starts the writer, replay and registry tasks; leaving flushes what is in memory (to the
    database, or to the spool when it is away) and stops them.

    Args:
        db: the database (PostgreSQL or SQLite); it may be unreachable at start.
        config: the settings (:class:`~telemetry.config.IngestConfig`).
        store: a writer to use instead of the one ``db`` implies (benchmarks compare writers).
    """

    def __init__(self, *, db: DatabaseURL, config: IngestConfig, store: Store | None = None):
        self.db = db
        self.config = config
        self.metrics = IngestMetrics()
        self.collector = TelemetryCollector(self)
        self._store = store if store is not None else open_store(db, config)
        self._registry = Registry(miss_ttl=config.registry_miss_ttl)
        self._spool: Spool | None = None
        self._pending = PendingBatch()
        self._full: deque[PendingBatch] = deque()  # sealed batches waiting for the writer
        self._flush_partial = False  # flush() asked for the partial batch too
        self._pending_rows = 0  # fixes in _pending plus in the batch being written or spooled
        self._room = asyncio.Event()
        self._room.set()
        self._flush_now = asyncio.Event()
        self._states_due = 0.0  # monotonic time from which a sealed batch takes the states
        self._progress = asyncio.Condition()
        self._taken = 0  # batches the writer took from memory
        self._disposed = 0  # ... and wrote or spooled
        self._open_sessions: dict[str, int] = {}
        # per live session (by identity: SessionInfo is mutable, hence unhashable) the
        # sentence/rejected totals already accounted for
        self._session_counts: dict[int, tuple[int, int]] = {}
        self._valid_ids: set[str] = set()
        self._invalid_logged = 0
        self._database_up = False
        self._entered = False
        self._closed = True
        self._stopping = False
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: dict[str, asyncio.Task] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Ingest:
        if self._entered:
            raise RuntimeError("an Ingest can be entered once")
        self._entered = True
        cfg = self.config
        self._spool = await Spool.open(cfg.spool_dir, max_bytes=cfg.spool_max_bytes,
                                       segment_bytes=cfg.spool_segment_bytes,
                                       fsync=cfg.spool_fsync)
        if not await self._refresh_registry():
            log.error("telemetry: database %s unreachable at start; fixes are spooled until it "
                      "is back", self.db)
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        for name, loop in (("writer", self._writer_loop), ("replay", self._replay_loop),
                           ("registry", self._registry_loop)):
            self._tasks[name] = self._tg.create_task(loop(), name=f"telemetry-{name}")
        self._closed = False
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self._closed = True
        self._stopping = True
        self._room.set()  # publishers waiting for room learn that we are closing
        self._flush_now.set()
        assert self._tg is not None and self._spool is not None
        try:
            writer = self._tasks["writer"]
            try:
                await asyncio.wait_for(asyncio.shield(writer), self.config.shutdown_timeout)
            except TimeoutError:
                # the spool is full and the database away: keep the last batch anyway
                await self._spool.allow_overflow()
                await writer
            except Exception:  # the writer failed: the TaskGroup reports it below
                pass
            for task in self._tasks.values():
                task.cancel()
            # not the caller's exception: the TaskGroup would wrap it in an ExceptionGroup;
            # our own tasks' failures still surface from here
            await self._tg.__aexit__(None, None, None)
        finally:
            try:
                await self._store.close()
            finally:
                self._spool.close()
        if not self._spool.is_empty:
            log.warning("telemetry: %d batch(es) left in the spool %s; they are replayed at "
                        "the next start", self._spool.pending_batches, self.config.spool_dir)

    # -- the TelemetrySink protocol ---------------------------------------------------------

    async def session_opened(self, session: SessionInfo) -> None:
        if self._closed:
            return
        tid = session.terminal_id
        if tid not in self._valid_ids and not self._admit(tid, 0):
            return
        now = datetime.now(UTC)
        # sentences read before the terminal identified itself are its sentences too
        self._session_counts[id(session)] = (0, 0)
        self._open_sessions[tid] = self._open_sessions.get(tid, 0) + 1
        status = self._registry.status(tid)
        pb = self._pending
        if status is not _UNREGISTERED:
            st = self._state(pb, tid, session, now)
            st.connected = True
            st.connected_at = session.connected_at
            st.connects += 1
        if status is not _REGISTERED:
            self._sighting(pb, tid, session, now, 0, None)
            if status is _UNDETERMINED:
                pb.undetermined.add(tid)
        self._wake_if_full()

    async def publish(self, session: SessionInfo, records: Sequence[Record]) -> None:
        if self._closed:
            raise IngestClosed("the telemetry sink is closed")
        if self._pending_rows >= self.config.queue_max_rows:
            await self._wait_for_room()
        # no await from here on: what we append is in the batch the writer takes next
        tid = session.terminal_id
        if tid not in self._valid_ids and not self._admit(tid, len(records)):
            return
        m = self.metrics
        fixes = [r for r in records if r.__class__ is Fix]
        n_fixes = len(fixes)
        m.records_received += len(records)
        m.fixes_received += n_fixes
        now = datetime.now(UTC)
        key = id(session)
        sentences, rejected = session.sentences, session.rejected
        before = self._session_counts.get(key, (0, 0))
        self._session_counts[key] = (sentences, rejected)

        status = self._registry.status(tid)
        pb = self._pending
        last = fixes[-1] if fixes else None
        if status is not _UNREGISTERED:
            if fixes:
                pb.chunks.append((tid, now, fixes))
                pb.rows += n_fixes
                self._pending_rows += n_fixes
            st = self._state(pb, tid, session, now)
            st.connected = True
            st.sentences += sentences - before[0]
            st.rejected += rejected - before[1]
            if last is not None:
                st.fixes += n_fixes
                st.fix = newer(st.fix, last)
            if session.transport not in NMEA_TRANSPORTS:  # binary protocols' status words
                for record in reversed(records):
                    reported = record.status
                    if reported is not None:
                        st.acc = reported.acc
                        st.alarms = ",".join(sorted(reported.alarms))
                        st.status_at = now
                        break
        if status is not _REGISTERED:
            self._sighting(pb, tid, session, now, len(records), last, n_fixes)
            if status is _UNDETERMINED:
                pb.undetermined.add(tid)
        if pb.rows >= self.config.batch_max_rows:
            self._seal_pending()

    async def session_closed(self, session: SessionInfo) -> None:
        tid = session.terminal_id
        before = self._session_counts.pop(id(session), None)
        if self._closed or tid not in self._valid_ids:
            return
        left = self._open_sessions.get(tid, 0) - 1
        if left > 0:
            self._open_sessions[tid] = left
        else:
            self._open_sessions.pop(tid, None)
        status = self._registry.status(tid)
        if status is _UNREGISTERED:
            return
        now = datetime.now(UTC)
        pb = self._pending
        st = pb.states.get(tid)
        if st is None:
            # closing is not hearing from the terminal: last_seen_at stays; and while another
            # of its sessions is up, that one's transport and address stay
            st = pb.states[tid] = StateDelta(transport=None, remote_addr=None,
                                             last_seen_at=None, connected=True)
        if left <= 0 and st.transport is None:
            st.transport = str(session.transport)
            st.remote_addr = session.remote
        if before is not None:
            st.sentences += session.sentences - before[0]
            st.rejected += session.rejected - before[1]
        if left <= 0:  # another session of the same terminal may still be up (reconnects)
            st.connected = False
            st.disconnected_at = now
        if status is _UNDETERMINED:
            pb.undetermined.add(tid)
        self._wake_if_full()

    # -- hot-path helpers --------------------------------------------------------------------

    def _admit(self, terminal_id: str, n_records: int) -> bool:
        problem = terminal_id_problem(terminal_id)
        if problem is None:
            if len(self._valid_ids) > 1_000_000:  # a flood of distinct ids: start over
                self._valid_ids.clear()
            self._valid_ids.add(terminal_id)
            return True
        self.metrics.reject("terminal_id", n_records)
        if self._invalid_logged < 20:
            self._invalid_logged += 1
            log.warning("telemetry: records from terminal id %r not stored: %s",
                        terminal_id[:80] if isinstance(terminal_id, str) else terminal_id,
                        problem)
        return False

    @staticmethod
    def _state(pb: PendingBatch, tid: str, session: SessionInfo, now: datetime) -> StateDelta:
        st = pb.states.get(tid)
        if st is None:
            st = pb.states[tid] = StateDelta(transport=str(session.transport),
                                             remote_addr=session.remote, last_seen_at=now,
                                             connected=True)
        else:
            st.transport = str(session.transport)
            st.remote_addr = session.remote
            st.last_seen_at = now
        return st

    @staticmethod
    def _sighting(pb: PendingBatch, tid: str, session: SessionInfo, now: datetime,
                  n_records: int, last: Fix | None, n_fixes: int = 0) -> None:
        d = pb.unknown.get(tid)
        if d is None:
            d = pb.unknown[tid] = UnknownDelta(transport=str(session.transport),
                                               remote_addr=session.remote,
                                               first_seen_at=now, last_seen_at=now)
        else:
            d.transport = str(session.transport)
            d.remote_addr = session.remote
            d.last_seen_at = now
        d.messages += n_records
        d.fixes += n_fixes
        if last is not None:
            d.fix = newer(d.fix, last)

    def _wake_if_full(self) -> None:
        if self._pending.rows >= self.config.batch_max_rows:
            self._seal_pending()

    def _seal_pending(self) -> None:
        """The pending batch is full: queue it for the writer and start a new one, so that a
        batch (one transaction, one spool frame) stays near ``batch_max_rows``."""
        self._full.append(self._take_pending(final=False))
        self._flush_now.set()

    def _take_pending(self, *, final: bool) -> PendingBatch:
        """Swap the pending batch for a fresh one. Unless the states are due (every
        ``state_interval``, at flush() and at the end), the latest-state and unknown-terminal
        deltas move on to the fresh batch and keep accumulating there."""
        taken, fresh = self._pending, PendingBatch()
        now = time.monotonic()
        if final or self._flush_partial or now >= self._states_due:
            self._states_due = now + self.config.state_interval
        elif taken.states or taken.unknown:
            fresh.states, taken.states = taken.states, {}
            fresh.unknown, taken.unknown = taken.unknown, {}
            # their registration is decided by the batch that finally writes them
            fresh.undetermined = set(taken.undetermined)
        self._pending = fresh
        return taken

    async def _wait_for_room(self) -> None:
        m = self.metrics
        m.publish_waits += 1
        started = time.monotonic()
        try:
            while self._pending_rows >= self.config.queue_max_rows:
                if self._closed:
                    raise IngestClosed("the telemetry sink is closed")
                self._room.clear()
                self._flush_now.set()
                await self._room.wait()
            if self._closed:
                raise IngestClosed("the telemetry sink is closed")
        finally:
            m.publish_wait_seconds += time.monotonic() - started

    # -- observation -------------------------------------------------------------------------

    @property
    def pending_rows(self) -> int:
        return self._pending_rows

    @property
    def database_up(self) -> bool:
        return self._database_up

    @property
    def registered_terminals(self) -> int:
        return len(self._registry)

    def spool_depth(self) -> tuple[int, int]:
        """(batches, bytes) waiting in the spool."""
        if self._spool is None:
            return 0, 0
        return self._spool.pending_batches, self._spool.pending_bytes

    def spool_corrupt_regions(self) -> int:
        return 0 if self._spool is None else self._spool.counters.corrupt_regions

    def _batches_so_far(self) -> int:
        """How many batches must be disposed of for everything published so far to be."""
        return self._taken + len(self._full) + (1 if self._pending else 0)

    async def flush(self) -> None:
        """Wait until everything published so far is committed or spooled."""
        async with self._progress:
            target = self._batches_so_far()
            self._flush_partial = True
            self._flush_now.set()
            await self._progress.wait_for(lambda: self._disposed >= target or self._stopped())

    async def durable(self) -> None:
        """Wait until everything published so far is committed or spooled, at the writer's
        own pace (no early flush: a wait lasts about one ``flush_interval`` and a commit).
        The gateway waits on this before acknowledging records to terminals whose protocol
        acknowledges (JT/T 808, GT06).

        Raises:
            IngestClosed: the writer stopped before those records were disposed of.
        """
        async with self._progress:
            target = self._batches_so_far()
            await self._progress.wait_for(lambda: self._disposed >= target or self._stopped())
            if self._disposed < target:
                raise IngestClosed("the telemetry writer stopped before the records were "
                                   "committed or spooled")

    async def drain(self) -> None:
        """Wait until everything published so far is committed (the spool is empty)."""
        await self.flush()
        spool = self._spool
        assert spool is not None
        async with self._progress:
            await self._progress.wait_for(lambda: spool.is_empty or self._stopped())

    def _stopped(self) -> bool:
        task = self._tasks.get("writer")
        return task is not None and task.done()

    # -- writer --------------------------------------------------------------------------------

    async def _writer_loop(self) -> None:
        interval = self.config.flush_interval
        partial_due = time.monotonic() + interval
        # batches handed to the store and not yet written or spooled, oldest first: a store
        # on its own thread takes the next one while the last is being committed (its thread
        # goes from one to the next without waiting for this busy loop to hand it over, and
        # encodes it while the database works), and writes them in the order given
        ahead = WRITE_AHEAD if getattr(self._store, "pipelined", False) else 1
        inflight: deque[asyncio.Task[None]] = deque()

        async def dispose(batch: Batch, final: bool) -> None:
            while len(inflight) >= ahead:
                await inflight.popleft()
            assert self._tg is not None
            inflight.append(self._tg.create_task(self._dispose(batch, final=final),
                                                 name="telemetry-write"))

        while True:
            timeout = max(0.0, partial_due - time.monotonic())
            if not self._flush_now.is_set():
                try:
                    async with asyncio.timeout(timeout):
                        await self._flush_now.wait()
                except TimeoutError:
                    pass
            self._flush_now.clear()
            stopping = self._stopping
            while self._full:
                self._taken += 1
                await dispose(self._full.popleft().freeze(), stopping)
            # the partial batch goes every flush_interval (or when asked, or at the end)
            if stopping or self._flush_partial or time.monotonic() >= partial_due:
                partial_due = time.monotonic() + interval
                if self._pending:
                    pb = self._take_pending(final=stopping)
                    if pb:
                        self._taken += 1
                        await dispose(pb.freeze(), stopping)
                self._flush_partial = False
            if stopping and not self._full:
                while inflight:
                    await inflight.popleft()
                return

    async def _dispose(self, batch: Batch, *, final: bool) -> None:
        """Commit the batch, or spool it; retries the spool until it takes the batch."""
        assert self._spool is not None
        try:
            if self._spool.is_empty:
                try:
                    async with asyncio.timeout(self.config.shutdown_timeout if final else None):
                        result = await self._store.write(batch)
                except (StorageUnavailable, TimeoutError) as exc:
                    self._database_away(exc)
                except BatchRejected as exc:
                    self.metrics.db_errors += 1
                    log.error("telemetry: database refused a batch (%s); spooled for retries",
                              exc)
                except Exception:
                    # a bug must not lose the batch nor stop the gateway: spool it, replay
                    # retries it and quarantines it if it keeps failing
                    self.metrics.db_errors += 1
                    log.exception("telemetry: unexpected error writing a batch; spooled")
                else:
                    self._account(batch, result)
                    return
            await self._spool_batch(batch, final=final)
        finally:
            self._count_encoding(batch)
            self._pending_rows -= batch.rows
            if self._pending_rows < self.config.queue_max_rows:
                self._room.set()
            async with self._progress:
                self._disposed += 1
                self._progress.notify_all()

    async def _spool_batch(self, batch: Batch, *, final: bool) -> None:
        assert self._spool is not None
        payload = batch.to_payload()
        delay = self.config.retry_initial
        while True:
            try:
                await self._spool.append(payload, wait=not final)
            except SpoolError as exc:
                self.metrics.spool_errors += 1
                if final:
                    log.critical("telemetry: cannot spool the last batch at shutdown (%s): "
                                 "%d fixes LOST", exc, batch.rows)
                    return
                log.error("telemetry: cannot spool a batch (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max)
            else:
                self.metrics.batches_spooled += 1
                return

    def _database_away(self, exc: BaseException) -> None:
        self.metrics.db_errors += 1
        if self._database_up:
            log.error("telemetry: database unavailable (%s); spooling to %s", exc,
                      self.config.spool_dir)
        self._database_up = False

    def _count_encoding(self, batch: Batch) -> None:
        stats = batch.encode_stats
        if stats.rejected:
            self.metrics.reject("invalid_fix", stats.rejected)
            stats.rejected = 0
        self.metrics.fields_nulled += stats.nulled
        stats.nulled = 0

    def _account(self, batch: Batch, result: WriteResult, *, replayed: bool = False) -> None:
        m = self.metrics
        if not self._database_up:
            log.info("telemetry: database reachable")
        self._database_up = True
        if result.registered or result.unregistered:
            m.registry_lookups += 1
            self._registry.learn(registered=result.registered, unregistered=result.unregistered)
        if result.already_applied:
            m.batches_already_applied += 1
            return
        m.batches_written += 1
        if replayed:
            m.batches_replayed += 1
        m.fixes_stored += result.inserted
        m.duplicates_ignored += result.offered - result.inserted
        m.unknown_terminal_fixes += result.unknown_fixes
        m.unknown_terminal_records += result.unknown_records
        m.auto_registered += len(result.auto_registered)
        m.batch_rows.observe(result.offered)
        m.commit_seconds.observe(result.commit_seconds)
        if result.committed_at is not None:
            committed_ms = result.committed_at.timestamp() * 1000.0
            observe = m.receive_to_commit_seconds.observe
            for ms, n in batch.received_counts().items():
                observe(max(0.0, (committed_ms - ms) / 1000.0), n)

    # -- replay --------------------------------------------------------------------------------

    async def _replay_loop(self) -> None:
        assert self._spool is not None
        spool = self._spool
        cfg = self.config
        delay = cfg.retry_initial
        failures = 0
        while True:
            await spool.wait_nonempty()
            item = await spool.peek()
            if item is None:
                continue
            frame, payload = item
            try:
                batch = Batch.from_payload(payload)
            except ValueError as exc:
                await spool.quarantine(frame, payload, f"unreadable batch: {exc}")
                self.metrics.batches_quarantined += 1
                continue
            try:
                result = await self._store.write(batch)
            except StorageUnavailable as exc:
                self._database_away(exc)
                await asyncio.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, cfg.retry_max)
                continue
            except Exception as exc:  # BatchRejected, or a bug: retry, then quarantine
                self.metrics.db_errors += 1
                failures += 1
                if failures >= cfg.reject_after:
                    await spool.quarantine(frame, payload, f"{exc.__class__.__name__}: {exc}")
                    self.metrics.batches_quarantined += 1
                    failures = 0
                else:
                    log.error("telemetry: replaying a spooled batch failed (%s: %s); "
                              "attempt %d of %d", exc.__class__.__name__, exc, failures,
                              cfg.reject_after)
                    await asyncio.sleep(delay)
                continue
            await spool.commit(frame)
            self._account(batch, result, replayed=True)
            failures = 0
            delay = cfg.retry_initial
            if spool.is_empty:
                log.info("telemetry: spool drained")
                async with self._progress:
                    self._progress.notify_all()

    # -- registry ------------------------------------------------------------------------------

    async def _refresh_registry(self) -> bool:
        try:
            ids = await self._store.registered_ids()
        except (StorageUnavailable, BatchRejected) as exc:
            self.metrics.registry_refresh_errors += 1
            self._database_away(exc)
            return False
        self._registry.replace(ids)
        self.metrics.registry_refreshes += 1
        return True

    async def _registry_loop(self) -> None:
        cfg = self.config
        next_prune = time.monotonic()
        while True:
            await asyncio.sleep(cfg.registry_refresh_interval if self._registry.loaded
                                else min(cfg.retry_max, cfg.registry_refresh_interval))
            if not await self._refresh_registry():
                continue
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + LEDGER_PRUNE_EVERY
                try:
                    await self._store.prune_ledger(datetime.now(UTC) - cfg.ledger_retention)
                except (StorageUnavailable, BatchRejected) as exc:
                    log.warning("telemetry: pruning the batch ledger failed: %s", exc)
