"""Return visits: callbacks to installed customers, monthly in the first year after their first
install, quarterly after; the customer's feedback and satisfaction; the satisfaction report.

The generator is idempotent: it adds only the visits a customer does not have yet (one per
customer and due date, a unique key), so running it twice, or in two processes at once (on
PostgreSQL they queue on an advisory lock), adds nothing the second time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import InvalidInput, NotFound, Reason, Refused
from fieldservice.models import (
    Customer,
    TerminalVehicle,
    User,
    Vehicle,
    WorkOrder,
    WorkOrderState,
)
from fieldservice.models.aftercare import ReturnVisit, VisitCadence, VisitState
from fieldservice.money import quantize
from fieldservice.roles import FIELD_ROLES
from fieldservice.schemas.aftercare import (
    SatisfactionGroup,
    SatisfactionReport,
    VisitRecordBody,
)
from fieldservice.services.records import Page, check_version, get_or_404, paginate
from fieldservice.settings import ServiceSettings
from fieldservice.timestamps import add_months, utcnow

#: pg_advisory_xact_lock key of the generator ("fgRV")
GENERATOR_LOCK_KEY = 0x66675256
FIRST_YEAR_MONTHS = 12
QUARTER = 3


def schedule(anchor: date) -> Iterator[tuple[date, VisitCadence]]:
    """Due dates counted from the first install: months 1..12, then every 3 months."""
    for months in range(1, FIRST_YEAR_MONTHS + 1):
        yield add_months(anchor, months), VisitCadence.MONTHLY
    months = FIRST_YEAR_MONTHS + QUARTER
    while True:
        yield add_months(anchor, months), VisitCadence.QUARTERLY
        months += QUARTER


async def installed_customers(session: AsyncSession) -> dict[int, date]:
    """Active customers with a terminal installed now in one of their active vehicles, with
    the day of their first install ever (the schedule's anchor)."""
    now_installed = set((await session.execute(
        sa.select(Vehicle.customer_pk).join(TerminalVehicle,
                                            TerminalVehicle.vehicle_pk == Vehicle.id)
        .join(Customer, Customer.id == Vehicle.customer_pk)
        .where(TerminalVehicle.valid_to.is_(None), Vehicle.active.is_(True),
               Customer.active.is_(True))
    )).scalars())
    if not now_installed:
        return {}
    rows = await session.execute(
        sa.select(Vehicle.customer_pk, sa.func.min(TerminalVehicle.installed_on))
        .join(TerminalVehicle, TerminalVehicle.vehicle_pk == Vehicle.id)
        .where(Vehicle.customer_pk.in_(now_installed)).group_by(Vehicle.customer_pk)
    )
    return dict(rows.all())


async def generate(session: AsyncSession, *, settings: ServiceSettings,
                   today: date | None = None) -> list[ReturnVisit]:
    """Add the visits due up to ``today + return_visit_lookahead_days`` that each installed
    customer lacks: after its latest visit, or, for a customer with none, from
    ``today - return_visit_backfill_days`` on. The caller commits."""
    today = today or utcnow().date()
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(sa.select(sa.func.pg_advisory_xact_lock(GENERATOR_LOCK_KEY)))
    horizon = today + timedelta(days=settings.return_visit_lookahead_days)
    earliest = today - timedelta(days=settings.return_visit_backfill_days)
    anchors = await installed_customers(session)
    latest = dict((await session.execute(
        sa.select(ReturnVisit.customer_pk, sa.func.max(ReturnVisit.due_on))
        .group_by(ReturnVisit.customer_pk)
    )).all())
    created = []
    for customer_pk, anchor in sorted(anchors.items()):
        last = latest.get(customer_pk)
        for due, cadence in schedule(anchor):
            if due > horizon:
                break
            if (last is not None and due <= last) or (last is None and due < earliest):
                continue
            visit = ReturnVisit(customer_pk=customer_pk, due_on=due, cadence=cadence,
                                anchor_on=anchor, state=VisitState.SCHEDULED)
            session.add(visit)
            created.append(visit)
    await session.flush()
    return created


async def get_visit(session: AsyncSession, visit_pk: int) -> ReturnVisit:
    return await get_or_404(session, ReturnVisit, visit_pk, "return visit")


async def latest_technician(session: AsyncSession, customer_pk: int) -> int | None:
    """Who last did field work for the customer (the latest completed or closed order)."""
    return (await session.execute(
        sa.select(WorkOrder.assignee_pk).where(
            WorkOrder.customer_pk == customer_pk, WorkOrder.assignee_pk.is_not(None),
            WorkOrder.state.in_([WorkOrderState.COMPLETED, WorkOrderState.CLOSED]))
        .order_by(WorkOrder.state_changed_at.desc(), WorkOrder.id.desc()).limit(1)
    )).scalar_one_or_none()


async def record(session: AsyncSession, *, actor: Actor, visit_pk: int,
                 body: VisitRecordBody) -> ReturnVisit:
    visit = await get_visit(session, visit_pk)
    check_version(visit, body.version, f"return visit {visit.id}")
    if visit.state is VisitState.DONE:
        raise Refused(what=f"return visit {visit.id}", action="record",
                      reasons=[Reason("recorded_already",
                                      f"it was recorded already by {visit.done_by}",
                                      user=str(visit.done_by))])
    technician = body.technician_id
    if technician is not None:
        user = await session.get(User, technician)
        if user is None or user.role not in FIELD_ROLES:
            raise InvalidInput(f"technician_id {technician}: no such field staff")
    else:
        technician = await latest_technician(session, visit.customer_pk)
    visit.state = VisitState.DONE
    visit.done_at, visit.done_by_pk, visit.done_by = utcnow(), actor.user_pk, actor.name
    visit.feedback, visit.satisfaction, visit.technician_pk = (body.feedback, body.satisfaction,
                                                               technician)
    await session.flush()
    return visit


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitFilter:
    states: frozenset[VisitState] = frozenset()
    customer_pk: int | None = None
    technician_pk: int | None = None
    due_from: date | None = None
    due_to: date | None = None


async def list_visits(session: AsyncSession, *, filters: VisitFilter, limit: int,
                      offset: int) -> Page[ReturnVisit]:
    f = filters
    stmt = sa.select(ReturnVisit).order_by(ReturnVisit.due_on, ReturnVisit.id)
    if f.states:
        stmt = stmt.where(ReturnVisit.state.in_(f.states))
    if f.customer_pk is not None:
        stmt = stmt.where(ReturnVisit.customer_pk == f.customer_pk)
    if f.technician_pk is not None:
        stmt = stmt.where(ReturnVisit.technician_pk == f.technician_pk)
    if f.due_from is not None:
        stmt = stmt.where(ReturnVisit.due_on >= f.due_from)
    if f.due_to is not None:
        stmt = stmt.where(ReturnVisit.due_on < f.due_to)
    return await paginate(session, stmt, limit=limit, offset=offset)


GROUPINGS = ("month", "technician", "customer")


def _average(scores: Counter[int]) -> Decimal:
    count = sum(scores.values())
    return quantize(Decimal(sum(s * n for s, n in scores.items())) / count)


async def satisfaction_report(session: AsyncSession, *, group_by: str,
                              done_from: datetime | None,
                              done_to: datetime | None) -> SatisfactionReport:
    """Recorded visits in the period (by the time they were recorded), grouped."""
    if group_by not in GROUPINGS:
        raise NotFound(f"no grouping {group_by!r}")
    stmt = (sa.select(ReturnVisit.done_at, ReturnVisit.technician_pk, ReturnVisit.customer_pk,
                      ReturnVisit.satisfaction)
            .where(ReturnVisit.state == VisitState.DONE))
    if done_from is not None:
        stmt = stmt.where(ReturnVisit.done_at >= done_from)
    if done_to is not None:
        stmt = stmt.where(ReturnVisit.done_at < done_to)
    groups: dict[tuple[str, int | None], Counter[int]] = defaultdict(Counter)
    everything: Counter[int] = Counter()
    rows = (await session.execute(stmt)).all()
    names = await _names(session, group_by, rows)
    for done_at, technician, customer, score in rows:
        if done_at is None or score is None:
            continue  # recording a visit sets both; a row without them is no answer to count
        if group_by == "month":
            key: tuple[str, int | None] = (done_at.strftime("%Y-%m"), None)
        elif group_by == "technician":
            key = (names.get(technician, "(unknown)") if technician is not None
                   else "(unknown)", technician)
        else:
            key = (names[customer], customer)
        groups[key][score] += 1
        everything[score] += 1
    return SatisfactionReport(
        group_by=group_by, period_from=done_from, period_to=done_to,
        visits=sum(everything.values()), average=_average(everything) if everything else None,
        groups=[SatisfactionGroup(key=key, id=pk, visits=sum(scores.values()),
                                  average=_average(scores),
                                  scores={str(s): scores.get(s, 0) for s in range(1, 6)})
                for (key, pk), scores in sorted(groups.items(), key=lambda kv: kv[0][0])],
    )


async def _names(session: AsyncSession, group_by: str,
                 rows: Sequence[Any]) -> dict[int, str]:
    if group_by == "technician":
        pks = {r[1] for r in rows if r[1] is not None}
        stmt = sa.select(User.id, User.username).where(User.id.in_(pks))
    elif group_by == "customer":
        pks = {r[2] for r in rows}
        stmt = sa.select(Customer.id, Customer.company).where(Customer.id.in_(pks))
    else:
        return {}
    if not pks:
        return {}
    return dict((await session.execute(stmt)).all())
