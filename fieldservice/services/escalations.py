"""Escalation of work orders to the manager: SLA deadlines, the periodic sweep, manual
escalations, and the manager's decision (contractor, another department, or keep internal).

The sweep (:func:`sweep`) is one function the server runs periodically and tests call with
their own clock. On PostgreSQL it holds a transaction-scoped advisory lock, so of several
processes sweeping at once one works and the others return at once; a unique index on (order,
reason) is the net under that (and the serialisation on SQLite, whose transactions take the
write lock up front).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fieldservice.actors import Actor
from fieldservice.db import set_actor
from fieldservice.errors import Conflict, InvalidInput, Reason, Refused
from fieldservice.models import (
    OPEN_STATES,
    Priority,
    User,
    WorkOrder,
    WorkOrderState,
    WorkOrderTransition,
)
from fieldservice.models.escalations import (
    Contractor,
    Escalation,
    EscalationDecision,
    EscalationReason,
    EscalationState,
)
from fieldservice.schemas.escalations import DecisionBody, EscalationCreate, SlaPublic
from fieldservice.services.contractors import affiliation_of, fit_roles, free_staff
from fieldservice.services.records import Page, check_version, get_or_404, paginate
from fieldservice.services.work_orders import get_order
from fieldservice.settings import ServiceSettings
from fieldservice.timestamps import utcnow
from fieldservice.workflow import AssignRequest, TransitionRequest, TransitionTable, perform

#: pg_try_advisory_xact_lock key of the sweep ("fgES" in ASCII): one sweeper at a time
SWEEP_LOCK_KEY = 0x66674553
#: states before anyone is on the way: the response deadline still runs
WAITING_STATES = frozenset({WorkOrderState.NEW, WorkOrderState.AWAITING_APPROVAL,
                            WorkOrderState.APPROVED, WorkOrderState.ASSIGNED})
SWEEP_ACTOR = Actor.system("escalation-sweep")


@dataclass(frozen=True, slots=True)
class Deadlines:
    response_due: datetime | None
    resolution_due: datetime | None


def deadlines(order: WorkOrder, settings: ServiceSettings) -> Deadlines:
    """SLA deadlines of the order's priority, counted from its creation."""
    if order.priority is Priority.URGENT:
        response, resolution = settings.sla_urgent_response_min, settings.sla_urgent_resolution_min
    else:
        response, resolution = settings.sla_normal_response_min, settings.sla_normal_resolution_min
    start = order.created_at
    return Deadlines(
        response_due=start + timedelta(minutes=response) if response else None,
        resolution_due=start + timedelta(minutes=resolution) if resolution else None,
    )


async def _first_entry(session: AsyncSession, order_pk: int,
                       state: WorkOrderState) -> datetime | None:
    return (await session.execute(
        sa.select(sa.func.min(WorkOrderTransition.at)).where(
            WorkOrderTransition.work_order_pk == order_pk,
            WorkOrderTransition.to_state == state.value)
    )).scalar_one_or_none()


async def sla_status(session: AsyncSession, *, order: WorkOrder, settings: ServiceSettings,
                     now: datetime | None = None) -> SlaPublic:
    now = now or utcnow()
    due = deadlines(order, settings)
    responded = await _first_entry(session, order.id, WorkOrderState.EN_ROUTE)
    resolved = await _first_entry(session, order.id, WorkOrderState.COMPLETED)

    def overdue(deadline: datetime | None, done: datetime | None) -> bool:
        return deadline is not None and (done or now) > deadline

    return SlaPublic(
        work_order_id=order.id, priority=order.priority.value, created_at=order.created_at,
        response_due=due.response_due, responded_at=responded,
        response_overdue=overdue(due.response_due, responded),
        resolution_due=due.resolution_due, resolved_at=resolved,
        resolution_overdue=overdue(due.resolution_due, resolved),
    )


async def _raise(session: AsyncSession, *, actor: Actor, order: WorkOrder,
                 reason: EscalationReason, detail: str, at: datetime,
                 deadline: datetime | None = None) -> Escalation | None:
    """Insert the escalation in a savepoint: a twin committed by another process meanwhile
    (unique index) makes this a no-op rather than failing the whole sweep."""
    escalation = Escalation(work_order_pk=order.id, reason=reason, detail=detail, raised_at=at,
                            raised_by_pk=actor.user_pk, raised_by=actor.name, deadline=deadline,
                            state=EscalationState.OPEN)
    try:
        async with session.begin_nested():
            session.add(escalation)
            await session.flush()
    except IntegrityError:
        if reason is EscalationReason.MANUAL:
            raise Conflict(f"{order.number} has an open manual escalation already") from None
        return None
    return escalation


async def escalate_manually(session: AsyncSession, *, actor: Actor,
                            data: EscalationCreate) -> Escalation:
    order = await get_order(session, data.work_order_id, actor=actor)
    if order.state not in OPEN_STATES:
        raise Conflict(f"{order.number} is {order.state.value}: nothing left to escalate")
    open_manual = (await session.execute(sa.select(Escalation.id).where(
        Escalation.work_order_pk == order.id, Escalation.reason == EscalationReason.MANUAL,
        Escalation.state == EscalationState.OPEN))).first()
    if open_manual is not None:
        raise Conflict(f"{order.number} has an open manual escalation already "
                       f"(id {open_manual[0]})")
    escalation = await _raise(session, actor=actor, order=order,
                              reason=EscalationReason.MANUAL, detail=data.detail, at=utcnow())
    assert escalation is not None  # manual clashes raise
    return escalation


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationFilter:
    states: frozenset[EscalationState] = frozenset()
    reasons: frozenset[EscalationReason] = frozenset()
    decision: EscalationDecision | None = None
    work_order_pk: int | None = None
    contractor_pk: int | None = None
    raised_from: datetime | None = None
    raised_to: datetime | None = None


async def list_escalations(session: AsyncSession, *, filters: EscalationFilter, limit: int,
                           offset: int) -> Page[Escalation]:
    stmt = sa.select(Escalation).order_by(Escalation.raised_at.desc(), Escalation.id.desc())
    f = filters
    if f.states:
        stmt = stmt.where(Escalation.state.in_(f.states))
    if f.reasons:
        stmt = stmt.where(Escalation.reason.in_(f.reasons))
    for column, value in ((Escalation.decision, f.decision),
                          (Escalation.work_order_pk, f.work_order_pk),
                          (Escalation.contractor_pk, f.contractor_pk)):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.raised_from is not None:
        stmt = stmt.where(Escalation.raised_at >= f.raised_from)
    if f.raised_to is not None:
        stmt = stmt.where(Escalation.raised_at < f.raised_to)
    return await paginate(session, stmt, limit=limit, offset=offset)


async def orders_by_pk(session: AsyncSession, pks: set[int]) -> dict[int, WorkOrder]:
    if not pks:
        return {}
    rows = (await session.execute(sa.select(WorkOrder).where(WorkOrder.id.in_(pks)))).scalars()
    return {o.id: o for o in rows}


async def _external_assignee(session: AsyncSession, *, body: DecisionBody,
                             order: WorkOrder) -> tuple[User, Contractor | None]:
    user = await session.get(User, body.assignee_id)
    if user is None:
        raise InvalidInput(f"assignee_id {body.assignee_id}: no such user")
    affiliation = await affiliation_of(session, user.id)
    problems = []
    contractor = None
    if body.decision is EscalationDecision.CONTRACTOR:
        contractor = await session.get(Contractor, body.contractor_id)
        if contractor is None:
            raise InvalidInput(f"contractor_id {body.contractor_id}: no such contractor")
        if not contractor.active:
            problems.append(Reason("contractor_inactive", f"contractor {contractor.name} is "
                                   "deactivated", contractor=contractor.name))
        if affiliation is None or affiliation.contractor_pk != contractor.id:
            problems.append(Reason("not_contractor_staff", f"{user.username} is not registered "
                                   f"as staff of contractor {contractor.name}",
                                   user=user.username, contractor=contractor.name))
    elif affiliation is None or affiliation.department is None:
        problems.append(Reason("not_department_staff",
                               f"{user.username} is not staff of another department",
                               user=user.username))
    if not user.active:
        problems.append(Reason("assignee_inactive", f"{user.username} is deactivated",
                               user=user.username))
    if user.role not in fit_roles(order):
        roles = sorted(fit_roles(order))
        problems.append(Reason("assignee_unfit", f"{order.number} needs a {' or '.join(roles)}; "
                               f"{user.username} is a {user.role.value}", number=order.number,
                               roles=roles, user=user.username, role=user.role.value))
    if problems:
        raise Refused(what=f"escalation of {order.number}", action="decide", reasons=problems)
    return user, contractor


async def decide(session: AsyncSession, *, actor: Actor, table: TransitionTable,
                 escalation_pk: int, body: DecisionBody) -> Escalation:
    """The manager decides. An external assignment walks the order through the ordinary
    transitions as the manager (submit and approve when still needed, then assign), so every
    guard of the state machine applies and each step is in the order's history."""
    escalation = await get_or_404(session, Escalation, escalation_pk, "escalation")
    check_version(escalation, body.version, f"escalation {escalation.id}")
    order = await get_order(session, escalation.work_order_pk, actor=actor)
    if escalation.state is not EscalationState.OPEN:
        raise Refused(what=f"escalation {escalation.id}", action="decide",
                      reasons=[Reason("decided_already",
                                      f"it was decided already ({escalation.decision})",
                                      decision=str(escalation.decision))])
    user = contractor = None
    if body.decision is not EscalationDecision.INTERNAL:
        if order.state not in WAITING_STATES:
            raise Refused(what=f"escalation {escalation.id}", action="decide", reasons=[
                Reason("left_already", f"{order.number} is {order.state.value}: it can be "
                       "given to someone else only before anyone left for the site",
                       number=order.number, state=order.state.value)])
        user, contractor = await _external_assignee(session, body=body, order=order)
    now = utcnow()
    escalation.state = EscalationState.DECIDED
    escalation.decision = body.decision
    escalation.contractor_pk, escalation.contractor = (contractor.id if contractor else None,
                                                       contractor)
    escalation.assignee_pk, escalation.assignee = (user.id if user else None, user)
    escalation.decided_at, escalation.decided_by_pk, escalation.decided_by = (
        now, actor.user_pk, actor.name)
    escalation.decision_note = body.note
    await session.flush()
    if user is not None:
        note = (f"escalation {escalation.id}: " + (f"contractor {contractor.name}" if contractor
                                                  else "another department"))
        for action in ("submit", "approve"):
            source = table.get(action).sources
            if order.state in source:
                await perform(session, table=table, order=order, action=action, actor=actor,
                              request=TransitionRequest(version=order.version, note=note))
        await perform(session, table=table, order=order, action="assign", actor=actor,
                      request=AssignRequest(version=order.version, assignee_id=user.id,
                                            note=note))
    return escalation


@dataclass(slots=True)
class SweepResult:
    #: False when another process held the sweep lock
    ran: bool
    escalated: list[tuple[str, EscalationReason]] = field(default_factory=list)


async def _sweep_in(session: AsyncSession, *, settings: ServiceSettings, now: datetime,
                    actor: Actor) -> list[tuple[str, EscalationReason]]:
    orders = list((await session.execute(
        sa.select(WorkOrder).where(WorkOrder.state.in_(OPEN_STATES)).order_by(WorkOrder.id)
    )).scalars())
    if not orders:
        return []
    seen = {(pk, EscalationReason(reason)) for pk, reason in (await session.execute(
        sa.select(Escalation.work_order_pk, Escalation.reason).where(
            Escalation.work_order_pk.in_([o.id for o in orders]),
            Escalation.reason != EscalationReason.MANUAL)
    ))}
    done: list[tuple[str, EscalationReason]] = []

    async def escalate(order: WorkOrder, reason: EscalationReason, detail: str,
                       deadline: datetime | None = None) -> None:
        if (order.id, reason) in seen:
            return
        if await _raise(session, actor=actor, order=order, reason=reason, detail=detail,
                        at=now, deadline=deadline) is not None:
            seen.add((order.id, reason))
            done.append((order.number, reason))

    for order in orders:
        due = deadlines(order, settings)
        if (due.response_due is not None and now > due.response_due
                and order.state in WAITING_STATES):
            await escalate(order, EscalationReason.RESPONSE_OVERDUE,
                           f"nobody on the way to {order.number} ({order.priority.value}) by "
                           f"{due.response_due.isoformat(timespec='minutes')}; it is "
                           f"{order.state.value}", due.response_due)
        if due.resolution_due is not None and now > due.resolution_due:
            await escalate(order, EscalationReason.RESOLUTION_OVERDUE,
                           f"{order.number} ({order.priority.value}) not completed by "
                           f"{due.resolution_due.isoformat(timespec='minutes')}; it is "
                           f"{order.state.value}", due.resolution_due)
        if (order.priority is Priority.URGENT and order.state is WorkOrderState.APPROVED
                and (order.id, EscalationReason.NO_FREE_TECHNICIAN) not in seen
                and not await free_staff(session, order=order,
                                         free_below=settings.free_below_active_orders)):
            await escalate(order, EscalationReason.NO_FREE_TECHNICIAN,
                           f"urgent {order.number} is approved and no internal "
                           f"{' or '.join(sorted(fit_roles(order)))} is free (fewer than "
                           f"{settings.free_below_active_orders} active orders)")
    return done


async def sweep(sessions: async_sessionmaker[AsyncSession], *, settings: ServiceSettings,
                now: datetime | None = None, actor: Actor = SWEEP_ACTOR) -> SweepResult:
    """Escalate every open order whose deadline passed, and every approved urgent order no
    internal technician is free for. Safe to run from several processes at once."""
    now = now or utcnow()
    async with sessions() as session:
        set_actor(session, actor, context="escalation sweep")
        if session.get_bind().dialect.name == "postgresql":
            locked = (await session.execute(
                sa.select(sa.func.pg_try_advisory_xact_lock(SWEEP_LOCK_KEY)))).scalar_one()
            if not locked:
                return SweepResult(ran=False)
        escalated = await _sweep_in(session, settings=settings, now=now, actor=actor)
        await session.commit()
    return SweepResult(ran=True, escalated=escalated)
