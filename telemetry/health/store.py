"""Faults and the fault-events outbox in PostgreSQL or SQLite.

Every opening inserts a ``faults`` row and an ``opened`` outbox row in one transaction; every
clearing updates the fault and inserts a ``cleared`` outbox row in the same way. At most one
fault per (terminal, rule) is open (a partial unique index), so two gateways that both see a
condition record it once: the second insert does nothing and writes no outbox row.

The functions taking an ``AsyncConnection`` run inside the caller's transaction (the offline
sweep, the ticket consumer's hardware-swap reset); :class:`FaultStore` wraps them for the
monitor, the CLI and the views.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from telemetry.dburl import DatabaseURL
from telemetry.health.hysteresis import FaultEvent, FaultEventKind
from telemetry.health.schema import fault_events, faults, registry_changes, terminals
from telemetry.health.terminal import TerminalInfo


class FaultState:
    OPEN = "open"
    CLEARED = "cleared"


class ClearReason:
    RECOVERED = "recovered"  #: the rule's condition ended and recovery held
    HARDWARE_SWAP = "hardware_swap"  #: a repair swapped the terminal or its SIM


@dataclass(frozen=True, slots=True)
class FaultRow:
    id: int
    terminal_id: str
    rule: str
    state: str
    opened_at: datetime
    cleared_at: datetime | None
    evidence: Mapping[str, Any]
    clear_evidence: Mapping[str, Any] | None
    clear_reason: str | None
    work_order_id: int | None
    archived_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "terminal_id": self.terminal_id, "rule": self.rule,
            "state": self.state, "opened_at": _iso(self.opened_at),
            "cleared_at": _iso(self.cleared_at), "clear_reason": self.clear_reason,
            "work_order_id": self.work_order_id, "archived_at": _iso(self.archived_at),
            "evidence": self.evidence, "clear_evidence": self.clear_evidence,
        }


@dataclass(frozen=True, slots=True)
class FaultEventRow:
    id: int
    fault_id: int
    terminal_id: str
    rule: str
    kind: str
    occurred_at: datetime
    evidence: Mapping[str, Any]
    processed_at: datetime | None
    outcome: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "fault_id": self.fault_id, "terminal_id": self.terminal_id,
            "rule": self.rule, "kind": self.kind, "occurred_at": _iso(self.occurred_at),
            "evidence": self.evidence, "processed_at": _iso(self.processed_at),
            "outcome": self.outcome,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _now() -> datetime:
    return datetime.now(UTC)


def _insert(conn: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT (both have ``on_conflict_do_nothing``)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def fault_from_row(row: Any) -> FaultRow:
    m = row._mapping
    return FaultRow(
        id=m["id"], terminal_id=m["terminal_id"], rule=m["rule"], state=m["state"],
        opened_at=m["opened_at"], cleared_at=m["cleared_at"], evidence=m["evidence"],
        clear_evidence=m["clear_evidence"], clear_reason=m["clear_reason"],
        work_order_id=m["work_order_id"], archived_at=m["archived_at"],
    )


def event_from_row(row: Any) -> FaultEventRow:
    m = row._mapping
    return FaultEventRow(
        id=m["id"], fault_id=m["fault_id"], terminal_id=m["terminal_id"], rule=m["rule"],
        kind=m["kind"], occurred_at=m["occurred_at"], evidence=m["evidence"],
        processed_at=m["processed_at"], outcome=m["outcome"],
    )


# inside a caller's transaction ---------------------------------------------------------------

async def open_fault(conn: AsyncConnection, *, terminal_id: str, rule: str, at: datetime,
                     evidence: Mapping[str, Any]) -> int | None:
    """Open a fault and queue its ``opened`` event; None when one is already open."""
    stmt = (
        _insert(conn, faults)
        .values(terminal_id=terminal_id, rule=rule, state=FaultState.OPEN, opened_at=at,
                evidence=dict(evidence), created_at=at, updated_at=at)
        .on_conflict_do_nothing(index_elements=["terminal_id", "rule"],
                                index_where=sa.text("state = 'open'"))
        .returning(faults.c.id)
    )
    fault_id = (await conn.execute(stmt)).scalar()
    if fault_id is None:
        return None
    await conn.execute(sa.insert(fault_events).values(
        fault_id=fault_id, terminal_id=terminal_id, rule=rule, kind=FaultEventKind.OPENED.value,
        occurred_at=at, evidence=dict(evidence), created_at=at,
    ))
    return fault_id


async def clear_fault(conn: AsyncConnection, *, terminal_id: str, rule: str, at: datetime,
                      evidence: Mapping[str, Any],
                      reason: str = ClearReason.RECOVERED) -> int | None:
    """Clear the open fault of (terminal, rule) and queue its ``cleared`` event; None when no
    such fault is open (cleared already, by a repair or another gateway)."""
    stmt = (
        sa.update(faults)
        .where(faults.c.terminal_id == terminal_id, faults.c.rule == rule,
               faults.c.state == FaultState.OPEN)
        .values(state=FaultState.CLEARED, cleared_at=at, clear_evidence=dict(evidence),
                clear_reason=reason, clearing_since=None, updated_at=at)
        .returning(faults.c.id, faults.c.opened_at)
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    fault_id, opened_at = row
    payload = {**evidence, "opened_at": _iso(opened_at), "clear_reason": reason,
               "open_for_s": round((at - opened_at).total_seconds(), 3)}
    await conn.execute(sa.insert(fault_events).values(
        fault_id=fault_id, terminal_id=terminal_id, rule=rule,
        kind=FaultEventKind.CLEARED.value, occurred_at=at, evidence=payload, created_at=at,
    ))
    return fault_id


async def reset_fault_history(conn: AsyncConnection, *, terminal_id: str, at: datetime,
                              reason: str, evidence: Mapping[str, Any]) -> list[int]:
    """New hardware in place (terminal or SIM swap): clear what is open, archive the rest.

    Archived faults no longer count towards "repeated faults on this terminal"; the monitors
    see the cleared faults at their next sync and start the new hardware from a clean state.
    Returns the ids of the faults cleared by the reset.
    """
    open_rules = (await conn.execute(
        sa.select(faults.c.rule).where(faults.c.terminal_id == terminal_id,
                                       faults.c.state == FaultState.OPEN)
    )).scalars().all()
    cleared = []
    for rule in open_rules:
        fault_id = await clear_fault(conn, terminal_id=terminal_id, rule=rule, at=at,
                                     evidence={**evidence, "reset": reason},
                                     reason=ClearReason.HARDWARE_SWAP)
        if fault_id is not None:
            cleared.append(fault_id)
    await conn.execute(
        sa.update(faults)
        .where(faults.c.terminal_id == terminal_id, faults.c.archived_at.is_(None))
        .values(archived_at=at, updated_at=at)
    )
    return cleared


# the store ----------------------------------------------------------------------------------

def make_engine(db: DatabaseURL, **kwargs: Any) -> AsyncEngine:
    if db.is_sqlite:
        # the telemetry writer shares the file: wait for its write lock instead of failing
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(db.sqlalchemy_url(asynchronous=True), **kwargs)


class FaultStore:
    """Async access to faults and their outbox.

    Args:
        db: the database.
        engine: an engine to share (the store then does not dispose it).
    """

    def __init__(self, *, db: DatabaseURL, engine: AsyncEngine | None = None) -> None:
        self.db = db
        self._own_engine = engine is None
        self.engine = engine if engine is not None else make_engine(db)

    async def __aenter__(self) -> FaultStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_engine:
            await self.engine.dispose()

    async def record(self, events: Sequence[FaultEvent]) -> list[int]:
        """Store the monitor's events in one transaction; return the fault ids that changed
        (an opening of a fault already open, or a clearing of one not open, changes none)."""
        changed: list[int] = []
        async with self.engine.begin() as conn:
            for ev in events:
                if ev.kind is FaultEventKind.OPENED:
                    fault_id = await open_fault(conn, terminal_id=ev.terminal_id, rule=ev.rule,
                                                at=ev.at, evidence=ev.evidence)
                else:
                    fault_id = await clear_fault(conn, terminal_id=ev.terminal_id,
                                                 rule=ev.rule, at=ev.at, evidence=ev.evidence)
                if fault_id is not None:
                    changed.append(fault_id)
        return changed

    async def open_fault_map(self) -> dict[str, dict[str, float]]:
        """terminal → rule → opened_at (epoch seconds) of every open fault."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(faults.c.terminal_id, faults.c.rule, faults.c.opened_at)
                .where(faults.c.state == FaultState.OPEN)
            )
            out: dict[str, dict[str, float]] = {}
            for tid, rule, opened_at in rows:
                out.setdefault(tid, {})[rule] = opened_at.timestamp()
            return out

    async def registry_serial(self) -> int:
        """The counter every change to ``terminals`` bumps (migration 0004's trigger)."""
        async with self.engine.connect() as conn:
            return (await conn.execute(
                sa.select(registry_changes.c.serial).where(registry_changes.c.id == 1)
            )).scalar_one()

    async def directory(self) -> list[TerminalInfo]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(
                terminals.c.terminal_id, terminals.c.model, terminals.c.report_interval_s,
                terminals.c.state,
            ))
            return [TerminalInfo(terminal_id=r[0], model=r[1], report_interval_s=r[2],
                                 state=r[3]) for r in rows]

    async def list_faults(self, *, open_only: bool = False, terminal_id: str | None = None,
                          rule: str | None = None, limit: int | None = None,
                          before_id: int | None = None) -> list[FaultRow]:
        """Newest first."""
        stmt = sa.select(faults).order_by(faults.c.id.desc())
        if open_only:
            stmt = stmt.where(faults.c.state == FaultState.OPEN)
        if terminal_id is not None:
            stmt = stmt.where(faults.c.terminal_id == terminal_id)
        if rule is not None:
            stmt = stmt.where(faults.c.rule == rule)
        if before_id is not None:
            stmt = stmt.where(faults.c.id < before_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self.engine.connect() as conn:
            return [fault_from_row(r) for r in await conn.execute(stmt)]

    async def events(self, *, after_id: int = 0, terminal_id: str | None = None,
                     limit: int = 500) -> list[FaultEventRow]:
        """Outbox rows with ``id > after_id``, oldest first (the live feed's cursor)."""
        stmt = (sa.select(fault_events).where(fault_events.c.id > after_id)
                .order_by(fault_events.c.id).limit(limit))
        if terminal_id is not None:
            stmt = stmt.where(fault_events.c.terminal_id == terminal_id)
        async with self.engine.connect() as conn:
            return [event_from_row(r) for r in await conn.execute(stmt)]

    async def events_by_id(self, ids: Sequence[int]) -> list[FaultEventRow]:
        """The outbox rows of ``ids`` that exist, oldest first."""
        if not ids:
            return []
        stmt = (sa.select(fault_events).where(fault_events.c.id.in_(list(ids)))
                .order_by(fault_events.c.id))
        async with self.engine.connect() as conn:
            return [event_from_row(r) for r in await conn.execute(stmt)]

    async def last_event_id(self) -> int:
        async with self.engine.connect() as conn:
            return (await conn.execute(sa.select(sa.func.max(fault_events.c.id)))).scalar() or 0
