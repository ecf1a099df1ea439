"""Writers of batches: one per database kind, same contract.

A store commits one :class:`~telemetry.batch.Batch` per transaction: the batch id into the
ledger (a replayed batch already there changes nothing), the undetermined terminal ids resolved
against ``terminals`` (and auto-registered when configured), the positions (duplicates ignored),
the unknown-terminal sightings and the coalesced ``terminal_state`` deltas.

Errors are translated at this boundary: :class:`~telemetry.errors.StorageUnavailable` (keep the
batch, retry later) or :class:`~telemetry.errors.BatchRejected` (the content was refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from telemetry.batch import Batch
from telemetry.config import IngestConfig
from telemetry.dburl import DatabaseURL


@dataclass(slots=True)
class WriteResult:
    already_applied: bool = False  #: the ledger had this batch: nothing was written again
    offered: int = 0  #: position rows sent to the database
    inserted: int = 0  #: position rows actually new
    registered: set[str] = field(default_factory=set)  #: undetermined ids found registered
    unregistered: set[str] = field(default_factory=set)  #: undetermined ids found unregistered
    auto_registered: set[str] = field(default_factory=set)
    unknown_fixes: int = 0
    unknown_records: int = 0
    commit_seconds: float = 0.0
    committed_at: datetime | None = None


class Store(Protocol):
    async def close(self) -> None: ...

    async def registered_ids(self) -> set[str]:
        """Ids of all registered terminals (state not scrapped/returned)."""

    async def write(self, batch: Batch) -> WriteResult: ...

    async def prune_ledger(self, before: datetime) -> int: ...


def open_store(db: DatabaseURL, config: IngestConfig) -> Store:
    """A store for ``db``; it connects lazily (the database may be away at start)."""
    if db.is_postgresql:
        from telemetry.store.postgres import PostgresStore
        from telemetry.store.threaded import ThreadedStore

        return ThreadedStore(PostgresStore(db, config))
    from telemetry.store.sqlite import SQLiteStore

    return SQLiteStore(db, config)


def split_by_registration(batch: Batch, states: dict[str, str]) -> tuple[set[str], set[str]]:
    """Undetermined ids of ``batch`` split into (registered, unregistered) given
    ``terminal_id -> terminals.state`` for those that exist."""
    from telemetry.store.sql import is_registered_state

    registered = {tid for tid in batch.undetermined
                  if tid in states and is_registered_state(states[tid])}
    return registered, set(batch.undetermined) - registered
