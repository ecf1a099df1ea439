"""The typed configuration of the ingest pipeline (read once at the edge, passed down)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from telemetry.errors import ConfigError

#: terminal states that do not count as registered (see docs/storage.md)
UNREGISTERED_STATES = ("scrapped", "returned")
#: states a terminal may be auto-registered in; the registry owner (fieldservice) defines them
TERMINAL_STATES = ("in_stock", "installed", "faulty", "returned", "scrapped")


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestConfig:
    """Settings of :class:`telemetry.ingest.Ingest`.

    Args:
        spool_dir: directory of the on-disk spool (created if missing; one process per directory).
        batch_max_rows: a batch is written as soon as this many fixes are waiting.
        flush_interval: seconds; a non-empty batch is written at least this often.
        state_interval: seconds between writes of the latest-state rows (``terminal_state``,
            ``unknown_terminals``). Between them the per-terminal deltas ride along in memory
            and go with a later batch, so that the fixes' transactions, which socket-to-commit
            latency waits for, do not carry one upsert per live terminal each time.
        queue_max_rows: fixes held in memory (waiting or being written) before ``publish`` waits.
        spool_max_bytes: disk the spool may use; when full, ``publish`` waits (backpressure).
        spool_segment_bytes: size at which the spool starts a new segment file.
        spool_fsync: fsync every spooled batch (True) or leave it to the OS (False: a power cut
            may lose the last seconds of spool; a process crash loses nothing either way).
        auto_register: store fixes of unregistered terminals and register them (in
            ``auto_register_state``) instead of listing them in ``unknown_terminals``.
        auto_register_state: the ``terminals.state`` given to auto-registered terminals.
        registry_refresh_interval: seconds between full reloads of the registered terminal ids.
        registry_miss_ttl: seconds a terminal id found unregistered is believed unregistered
            before the database is asked again (so a flood from one unknown id costs one query
            per TTL, not one per message).
        retry_initial, retry_max: capped, jittered backoff (seconds) between attempts to reach
            the database while the spool holds batches.
        connect_timeout: seconds to wait for a database connection.
        statement_timeout: seconds a write may take before the database counts as unavailable.
        shutdown_timeout: seconds the final flush may try the database on exit before spooling.
        ledger_retention: how long ids of committed batches are kept (they make spool replay
            exactly-once after a crash between commit and spool deletion).
        reject_after: a batch the database refuses this many times is quarantined on disk.
    """

    spool_dir: Path
    batch_max_rows: int = 10000
    flush_interval: float = 0.025
    state_interval: float = 1.0
    queue_max_rows: int = 100_000
    spool_max_bytes: int = 1 << 30
    spool_segment_bytes: int = 16 << 20
    spool_fsync: bool = True
    auto_register: bool = False
    auto_register_state: str = "installed"
    registry_refresh_interval: float = 30.0
    registry_miss_ttl: float = 10.0
    retry_initial: float = 0.2
    retry_max: float = 10.0
    connect_timeout: float = 5.0
    statement_timeout: float = 30.0
    shutdown_timeout: float = 5.0
    ledger_retention: timedelta = timedelta(days=7)
    reject_after: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "spool_dir", Path(self.spool_dir))
        positive = {
            "batch_max_rows": self.batch_max_rows,
            "flush_interval": self.flush_interval,
            "state_interval": self.state_interval,
            "queue_max_rows": self.queue_max_rows,
            "spool_max_bytes": self.spool_max_bytes,
            "spool_segment_bytes": self.spool_segment_bytes,
            "registry_refresh_interval": self.registry_refresh_interval,
            "retry_initial": self.retry_initial,
            "retry_max": self.retry_max,
            "connect_timeout": self.connect_timeout,
            "statement_timeout": self.statement_timeout,
            "reject_after": self.reject_after,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be positive, got {value!r}")
        if self.registry_miss_ttl < 0 or self.shutdown_timeout < 0:
            raise ConfigError("registry_miss_ttl and shutdown_timeout must not be negative")
        if self.queue_max_rows < self.batch_max_rows:
            raise ConfigError(
                f"queue_max_rows ({self.queue_max_rows}) must be at least batch_max_rows "
                f"({self.batch_max_rows}): otherwise a batch could never fill"
            )
        if self.retry_max < self.retry_initial:
            raise ConfigError("retry_max must not be smaller than retry_initial")
        if self.spool_segment_bytes > self.spool_max_bytes:
            raise ConfigError("spool_segment_bytes must not exceed spool_max_bytes")
        if self.auto_register_state not in TERMINAL_STATES or (
            self.auto_register_state in UNREGISTERED_STATES
        ):
            raise ConfigError(
                f"auto_register_state must be a registered state "
                f"({', '.join(s for s in TERMINAL_STATES if s not in UNREGISTERED_STATES)}), "
                f"got {self.auto_register_state!r}"
            )
