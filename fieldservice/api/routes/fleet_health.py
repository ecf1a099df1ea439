"""Terminal health views: fleet summary, per-terminal health, fault history, live feed (SSE).

Mounted through the app factory's extra routers, together with the health additions to the
work-order state machine::

    app = create_app(db=db, settings=settings, **health_app_options())

The router's lifespan runs the ticket consumer (:mod:`fieldservice.auto_tickets`) in the API
process; several API processes may run it side by side (each outbox row is handled once).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.api.deps import IdQuery, PagingDep, RoleGate, SessionDep, StateDep
from fieldservice.api.state import ServiceState, app_state
from fieldservice.auto_tickets import TicketConsumer, TicketPolicy, health_transitions
from fieldservice.errors import NotFound, PermissionDenied
from fieldservice.models import OPEN_STATES, Terminal, WorkOrder, WorkOrderType
from fieldservice.roles import Role
from fieldservice.schemas.common import Page
from fieldservice.workflow import TransitionTable
from telemetry.health.config import DEFAULT_IGNORED_STATES
from telemetry.health.feed import FeedHub, SubscriberTooSlow
from telemetry.health.schema import fault_events, faults, terminal_state, unknown_terminals
from telemetry.health.store import FaultEventRow, FaultState, FaultStore, event_from_row

#: office roles that watch the fleet's health (technicians see the terminals of their orders)
HEALTH_READERS = frozenset({Role.DISPATCHER, Role.MANAGER, Role.INSTALLER, Role.TESTER,
                            Role.ADMIN})
FleetReader = Annotated[Actor, Depends(RoleGate(HEALTH_READERS, "read fleet health"))]
TerminalReader = Annotated[Actor, Depends(RoleGate(HEALTH_READERS | {Role.TECHNICIAN},
                                                   "read terminal health"))]

HealthState = Literal["online", "offline", "no_fix", "degraded", "never_seen"]
#: how often the live feed looks for new events
FEED_POLL_S = 1.0
RECENT_EVENTS = 20


class FleetHealth(BaseModel):
    as_of: datetime
    #: registered terminals in service (not returned, scrapped or faulty)
    terminals: int
    online: int
    offline: int
    no_fix: int
    degraded: int
    never_seen: int
    #: ids seen on the wire that nobody registered
    unregistered: int
    open_faults_by_rule: dict[str, int]


class TerminalHealthSummary(BaseModel):
    terminal_id: str
    model: str | None
    health: HealthState
    last_seen_at: datetime | None
    open_faults: list[str]
    ticket: str | None  #: number of the open repair order, if any


class FaultPublic(BaseModel):
    id: int
    terminal_id: str
    rule: str
    state: str
    opened_at: datetime
    cleared_at: datetime | None
    clear_reason: str | None
    work_order_id: int | None
    archived: bool
    evidence: dict[str, Any]
    clear_evidence: dict[str, Any] | None


class FaultEventPublic(BaseModel):
    id: int
    fault_id: int
    terminal_id: str
    rule: str
    kind: str
    occurred_at: datetime
    evidence: dict[str, Any]
    processed_at: datetime | None
    outcome: str | None

    @classmethod
    def of(cls, row: FaultEventRow) -> FaultEventPublic:
        return cls(id=row.id, fault_id=row.fault_id, terminal_id=row.terminal_id, rule=row.rule,
                   kind=row.kind, occurred_at=row.occurred_at, evidence=dict(row.evidence),
                   processed_at=row.processed_at, outcome=row.outcome)


class TicketRef(BaseModel):
    id: int
    number: str
    state: str


class TerminalHealthDetail(BaseModel):
    terminal_id: str
    model: str | None
    registry_state: str
    health: HealthState
    last_seen_at: datetime | None
    connected: bool | None
    transport: str | None
    last_fix: dict[str, Any] | None
    counters: dict[str, int | None]
    open_faults: list[FaultPublic]
    recent_events: list[FaultEventPublic]
    ticket: TicketRef | None


def health_state(open_rules: set[str] | frozenset[str],
                 last_seen: datetime | None) -> HealthState:
    if "offline" in open_rules:
        return "offline"
    if "no_fix" in open_rules:
        return "no_fix"
    if open_rules:
        return "degraded"
    return "online" if last_seen is not None else "never_seen"


def fault_public(row: Any) -> FaultPublic:
    m = row._mapping
    return FaultPublic(
        id=m["id"], terminal_id=m["terminal_id"], rule=m["rule"], state=m["state"],
        opened_at=m["opened_at"], cleared_at=m["cleared_at"], clear_reason=m["clear_reason"],
        work_order_id=m["work_order_id"], archived=m["archived_at"] is not None,
        evidence=dict(m["evidence"] or {}), clear_evidence=m["clear_evidence"],
    )


async def _open_faults(session: AsyncSession,
                       terminal_id: str | None = None) -> dict[str, set[str]]:
    stmt = sa.select(faults.c.terminal_id, faults.c.rule).where(
        faults.c.state == FaultState.OPEN)
    if terminal_id is not None:
        stmt = stmt.where(faults.c.terminal_id == terminal_id)
    out: dict[str, set[str]] = {}
    for tid, rule in await session.execute(stmt):
        out.setdefault(tid, set()).add(rule)
    return out


async def _fleet_rows(session: AsyncSession) -> list[Any]:
    return list((await session.execute(
        sa.select(Terminal.terminal_id, Terminal.model, terminal_state.c.last_seen_at)
        .select_from(Terminal)
        .outerjoin(terminal_state, terminal_state.c.terminal_id == Terminal.terminal_id)
        .where(Terminal.state.notin_(DEFAULT_IGNORED_STATES))
        .order_by(Terminal.terminal_id)
    )).all())


async def _open_tickets(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(
        sa.select(Terminal.terminal_id, WorkOrder.number)
        .join(Terminal, Terminal.id == WorkOrder.terminal_pk)
        .where(WorkOrder.type == WorkOrderType.REPAIR, WorkOrder.state.in_(OPEN_STATES))
        .order_by(WorkOrder.id)
    )
    out: dict[str, str] = {}
    for tid, number in rows:
        out.setdefault(tid, number)
    return out


async def _feed_cursor(session: SessionDep,
                       after_id: Annotated[int | None, Query(ge=0)] = None,
                       last_event_id: Annotated[str | None, Header()] = None) -> int:
    """Where the feed starts: ``after_id``, else the browser's ``Last-Event-ID``, else the
    newest stored event. Read before the response starts (a dependency): "the next new event"
    counts from before the client hears the feed is up, so an event stored in between is
    sent; and no query runs inside the stream, where a client that leaves cancels it."""
    if after_id is not None:
        return after_id
    if last_event_id and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return (await session.execute(
        sa.select(sa.func.coalesce(sa.func.max(fault_events.c.id), 0)))).scalar_one()


def _feed(request: Request, state: ServiceState, poll_s: float) -> FeedHub:
    """The lifespan's feed (its store has its own engine: on SQLite the service engine's
    transactions take the write lock); made here when the app runs without its lifespan."""
    hub = getattr(request.app.state, "health_feed", None)
    if hub is None:
        hub = FeedHub(store=FaultStore(db=state.db, engine=state.engine), poll_s=poll_s)
        request.app.state.health_feed = hub
    return hub


def health_router(*, consumer: bool = True, policy: TicketPolicy | None = None,
                  feed_poll_s: float = FEED_POLL_S) -> APIRouter:
    """The health routes; with ``consumer`` the app's lifespan also runs the ticket consumer.

    Args:
        consumer: run the outbox consumer in this process.
        policy: how faults become tickets.
        feed_poll_s: how often the live feed looks for new events.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app_state(app)
        store = FaultStore(db=state.db)
        feed = app.state.health_feed = FeedHub(store=store, poll_s=feed_poll_s)
        try:
            if consumer:
                async with TicketConsumer(engine=state.engine, policy=policy,
                                          transitions=state.transitions) as running:
                    app.state.health_tickets = running
                    yield
            else:
                yield
        finally:
            await feed.close()
            app.state.health_feed = None
            await store.close()

    router = APIRouter(prefix="/api/health", tags=["health"], lifespan=lifespan)

    @router.get("/fleet", response_model=FleetHealth,
                summary="Counts of terminals by health state")
    async def fleet(_: FleetReader, session: SessionDep) -> FleetHealth:
        rows = await _fleet_rows(session)
        open_faults = await _open_faults(session)
        unregistered = (await session.execute(
            sa.select(sa.func.count()).select_from(unknown_terminals))).scalar_one()
        states = Counter(health_state(open_faults.get(r.terminal_id, set()), r.last_seen_at)
                         for r in rows)
        by_rule = Counter(rule for rules in open_faults.values() for rule in rules)
        return FleetHealth(
            as_of=datetime.now(UTC), terminals=len(rows), online=states["online"],
            offline=states["offline"], no_fix=states["no_fix"], degraded=states["degraded"],
            never_seen=states["never_seen"], unregistered=unregistered,
            open_faults_by_rule=dict(sorted(by_rule.items())),
        )

    @router.get("/terminals", response_model=Page[TerminalHealthSummary],
                summary="Terminals with their health state, open faults and open ticket")
    async def terminals(_: FleetReader, session: SessionDep, paging: PagingDep,
                        health: HealthState | None = None) -> Page[TerminalHealthSummary]:
        rows = await _fleet_rows(session)
        open_faults = await _open_faults(session)
        tickets = await _open_tickets(session)
        items = []
        for r in rows:
            rules = open_faults.get(r.terminal_id, set())
            item = TerminalHealthSummary(
                terminal_id=r.terminal_id, model=r.model,
                health=health_state(rules, r.last_seen_at), last_seen_at=r.last_seen_at,
                open_faults=sorted(rules), ticket=tickets.get(r.terminal_id))
            if health is None or item.health == health:
                items.append(item)
        return Page(items=items[paging.offset:paging.offset + paging.limit], total=len(items),
                    limit=paging.limit, offset=paging.offset)

    @router.get("/terminals/{terminal_id}", response_model=TerminalHealthDetail,
                summary="One terminal's health: state, last fix, open faults, recent events")
    async def terminal(terminal_id: Annotated[str, Path(max_length=64)], actor: TerminalReader,
                       session: SessionDep) -> TerminalHealthDetail:
        row = (await session.execute(
            sa.select(Terminal).where(Terminal.terminal_id == terminal_id))).scalars().first()
        if row is None:
            raise NotFound(f"no terminal {terminal_id}")
        ticket = (await session.execute(
            sa.select(WorkOrder).where(WorkOrder.terminal_pk == row.id,
                                       WorkOrder.type == WorkOrderType.REPAIR,
                                       WorkOrder.state.in_(OPEN_STATES))
            .order_by(WorkOrder.id).limit(1))).scalars().first()
        if actor.role is Role.TECHNICIAN:
            # row level, as for work orders: only terminals of his open orders
            mine = (await session.execute(
                sa.select(sa.func.count()).select_from(WorkOrder).where(
                    WorkOrder.terminal_pk == row.id, WorkOrder.assignee_pk == actor.user_pk,
                    WorkOrder.state.in_(OPEN_STATES)))).scalar_one()
            if not mine:
                raise PermissionDenied(f"terminal {terminal_id} is on none of your open orders")
        ts = (await session.execute(sa.select(terminal_state).where(
            terminal_state.c.terminal_id == terminal_id))).mappings().first()
        open_rows = (await session.execute(
            sa.select(faults).where(faults.c.terminal_id == terminal_id,
                                    faults.c.state == FaultState.OPEN).order_by(faults.c.id)
        )).all()
        events = (await session.execute(
            sa.select(fault_events).where(fault_events.c.terminal_id == terminal_id)
            .order_by(fault_events.c.id.desc()).limit(RECENT_EVENTS))).all()
        open_rules = {r._mapping["rule"] for r in open_rows}
        last_seen = ts["last_seen_at"] if ts else None
        last_fix = None
        if ts and ts["last_fix_time"] is not None:
            last_fix = {"time": ts["last_fix_time"], "lat": ts["lat"], "lon": ts["lon"],
                        "sats": ts["sats"], "hdop": ts["hdop"]}
        return TerminalHealthDetail(
            terminal_id=terminal_id, model=row.model, registry_state=row.state.value,
            health=health_state(open_rules, last_seen), last_seen_at=last_seen,
            connected=ts["connected"] if ts else None, transport=ts["transport"] if ts else None,
            last_fix=last_fix,
            counters={k: ts[k] if ts else None for k in ("sentences", "rejected", "fixes",
                                                          "connects")},
            open_faults=[fault_public(r) for r in open_rows],
            recent_events=[FaultEventPublic.of(event_from_row(e)) for e in events],
            ticket=TicketRef(id=ticket.id, number=ticket.number, state=ticket.state.value)
            if ticket else None,
        )

    @router.get("/faults", response_model=Page[FaultPublic],
                summary="Fault history, newest first")
    async def fault_history(
        _: FleetReader, session: SessionDep, paging: PagingDep,
        terminal_id: Annotated[str | None, Query(max_length=64)] = None,
        rule: Annotated[str | None, Query(max_length=64)] = None,
        state: Literal["open", "cleared"] | None = None,
        work_order_id: IdQuery = None,
        opened_from: datetime | None = None, opened_to: datetime | None = None,
    ) -> Page[FaultPublic]:
        conditions = []
        for column, value in ((faults.c.terminal_id, terminal_id), (faults.c.rule, rule),
                              (faults.c.state, state), (faults.c.work_order_id, work_order_id)):
            if value is not None:
                conditions.append(column == value)
        if opened_from is not None:
            conditions.append(faults.c.opened_at >= _aware(opened_from))
        if opened_to is not None:
            conditions.append(faults.c.opened_at < _aware(opened_to))
        total = (await session.execute(
            sa.select(sa.func.count()).select_from(faults).where(*conditions))).scalar_one()
        rows = (await session.execute(
            sa.select(faults).where(*conditions).order_by(faults.c.id.desc())
            .limit(paging.limit).offset(paging.offset))).all()
        return Page(items=[fault_public(r) for r in rows], total=total, limit=paging.limit,
                    offset=paging.offset)

    @router.get("/events", response_model=list[FaultEventPublic],
                summary="Fault events after a cursor, oldest first (polling form of the feed)")
    async def events(_: FleetReader, session: SessionDep,
                     after_id: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[FaultEventPublic]:
        rows = await session.execute(
            sa.select(fault_events).where(fault_events.c.id > after_id)
            .order_by(fault_events.c.id).limit(limit))
        return [FaultEventPublic.of(event_from_row(r)) for r in rows]

    @router.get("/events/stream", response_class=EventSourceResponse,
                summary="Live feed of health changes (Server-Sent Events)",
                description="Each fault opening or clearing as an event named `fault_opened` "
                            "or `fault_cleared`, with the outbox id as event id; then, once the "
                            "ticket consumer has processed it (a ticket made or appended to, or "
                            "why not), an event `fault_processed` with its `outcome` and no "
                            "event id. Starts after `after_id`, else after the browser's "
                            "`Last-Event-ID`, else with the next new event.")
    async def stream(request: Request, _: FleetReader, session: SessionDep, state: StateDep,
                     cursor: Annotated[int, Depends(_feed_cursor)],
                     ) -> AsyncIterator[ServerSentEvent]:
        # the gate's session (and on SQLite its write lock) must not last as long as the feed
        await session.close()
        yield ServerSentEvent(comment="fieldgate health feed", retry=int(feed_poll_s * 1000))
        # no database call in here: a client that leaves cancels this generator anywhere
        try:
            async with _feed(request, state, feed_poll_s).subscribe(after_id=cursor) as events:
                sent = cursor
                async for row in events:
                    if row.id > sent:  # new; else the hub brings a row sent before, processed
                        sent = row.id
                        yield ServerSentEvent(event=f"fault_{row.kind}", id=str(row.id),
                                              data=_feed_item(row))
                    if row.processed_at is not None:
                        yield ServerSentEvent(event="fault_processed", data=_processed_item(row))
        except SubscriberTooSlow:
            return  # the client reconnects with its Last-Event-ID

    return router


def _feed_item(row: FaultEventRow) -> dict[str, Any]:
    evidence = row.evidence or {}
    return {"id": row.id, "terminal_id": row.terminal_id, "rule": row.rule, "kind": row.kind,
            "occurred_at": row.occurred_at.isoformat().replace("+00:00", "Z"),
            "fault_id": row.fault_id, "observed": evidence.get("observed"),
            "last_fix": evidence.get("last_fix")}


_PROCESSED_KEYS = ("id", "terminal_id", "rule", "kind", "processed_at", "outcome")


def _processed_item(row: FaultEventRow) -> dict[str, Any]:
    whole = row.as_json()
    return {key: whole[key] for key in _PROCESSED_KEYS}


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def health_app_options(*, consumer: bool = True, policy: TicketPolicy | None = None,
                       transitions: TransitionTable | None = None,
                       ) -> Mapping[str, Any]:
    """Keyword arguments for ``create_app``: the health state machine additions and routes."""
    return {"transitions": health_transitions(transitions),
            "routers": [health_router(consumer=consumer, policy=policy)]}
