"""Major fault reports: open (what, where, plan, who was told), resolved, analysed, sent.

The analysis (impact, handling, root cause, corrective and preventive actions) is written
after the fault is resolved, and the report is marked sent to the customer only once every
part of it is there (a guard here, and a CHECK constraint in the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.db.counters import next_value
from fieldservice.errors import Conflict, InvalidInput, Reason, Refused
from fieldservice.models import Customer, WorkOrder
from fieldservice.models.aftercare import FaultReport, FaultReportState
from fieldservice.schemas.aftercare import (
    ANALYSIS_PARTS,
    AnalysisBody,
    FaultReportCreate,
    FaultReportUpdate,
    ResolveBody,
    SendBody,
)
from fieldservice.services.records import Page, apply_changes, check_version, get_or_404, paginate
from fieldservice.timestamps import as_utc, utcnow


async def _refs(session: AsyncSession, *, customer_pk: int | None,
                order_pk: int | None) -> int | None:
    """Check the references; the customer follows from the work order when not given."""
    if order_pk is not None:
        order = await session.get(WorkOrder, order_pk)
        if order is None:
            raise InvalidInput(f"work_order_id {order_pk}: no such work order")
        if customer_pk is not None and customer_pk != order.customer_pk:
            raise InvalidInput(f"work order {order.number} is for customer "
                               f"{order.customer_pk}, not {customer_pk}")
        customer_pk = order.customer_pk
    if customer_pk is not None and await session.get(Customer, customer_pk) is None:
        raise InvalidInput(f"customer_id {customer_pk}: no such customer")
    return customer_pk


async def create_report(session: AsyncSession, *, actor: Actor,
                        data: FaultReportCreate) -> FaultReport:
    now = utcnow()
    occurred = as_utc(data.occurred_at)
    if occurred > now:
        raise InvalidInput("occurred_at is in the future")
    customer_pk = await _refs(session, customer_pk=data.customer_id,
                              order_pk=data.work_order_id)
    report = FaultReport(
        number=f"FR-{now.year}-{await next_value(session, f'fault_report:{now.year}'):06d}",
        customer_pk=customer_pk, work_order_pk=data.work_order_id, occurred_at=occurred,
        place=data.place, symptom=data.symptom, handling_plan=data.handling_plan,
        notified_people=list(data.notified_people), reported_by=actor.name,
        state=FaultReportState.OPEN,
    )
    session.add(report)
    await session.flush()
    return report


async def _editable(session: AsyncSession, report_pk: int, version: int) -> FaultReport:
    report = await get_or_404(session, FaultReport, report_pk, "fault report")
    check_version(report, version, f"fault report {report.number}")
    if report.state is FaultReportState.SENT:
        raise Conflict(f"fault report {report.number} was sent to the customer; it is final")
    report.updated_at = utcnow()
    return report


async def update_report(session: AsyncSession, *, report_pk: int,
                        data: FaultReportUpdate) -> FaultReport:
    report = await _editable(session, report_pk, data.version)
    changes = data.changes()
    if "occurred_at" in changes:
        changes["occurred_at"] = as_utc(changes["occurred_at"])
    apply_changes(report, changes)
    await session.flush()
    return report


async def resolve(session: AsyncSession, *, actor: Actor, report_pk: int,
                  body: ResolveBody) -> FaultReport:
    report = await _editable(session, report_pk, body.version)
    if report.state is not FaultReportState.OPEN:
        raise Refused(what=f"fault report {report.number}", action="resolve",
                      reasons=[Reason("report_state", f"it is {report.state.value} already",
                                      report_state=report.state.value)])
    resolved = as_utc(body.resolved_at) if body.resolved_at else utcnow()
    if resolved < report.occurred_at:
        raise InvalidInput("resolved_at is before the fault occurred")
    report.state, report.resolved_at, report.resolution = (FaultReportState.RESOLVED, resolved,
                                                           body.resolution)
    await session.flush()
    return report


def missing_analysis(report: FaultReport) -> list[str]:
    return [part for part in ANALYSIS_PARTS if not (getattr(report, part) or "").strip()]


async def analyse(session: AsyncSession, *, actor: Actor, report_pk: int,
                  body: AnalysisBody) -> FaultReport:
    report = await _editable(session, report_pk, body.version)
    if report.state is FaultReportState.OPEN:
        raise Refused(what=f"fault report {report.number}", action="analyse",
                      reasons=[Reason("fault_unresolved",
                                      "the fault is not resolved yet: the analysis comes after")])
    for part in ANALYSIS_PARTS:
        value = getattr(body, part)
        if value is not None:
            setattr(report, part, value)
    report.analysed_at, report.analysed_by = utcnow(), actor.name
    if not missing_analysis(report):
        report.state = FaultReportState.ANALYSED
    await session.flush()
    return report


async def mark_sent(session: AsyncSession, *, actor: Actor, report_pk: int,
                    body: SendBody) -> FaultReport:
    report = await _editable(session, report_pk, body.version)
    missing = missing_analysis(report)
    reasons = []
    if report.state is FaultReportState.OPEN:
        reasons.append(Reason("fault_unresolved", "the fault is not resolved yet"))
    if missing:
        reasons.append(Reason("analysis_missing", f"the analysis lacks {', '.join(missing)}",
                              fields=list(missing)))
    if reasons:
        raise Refused(what=f"fault report {report.number}", action="send", reasons=reasons)
    report.state = FaultReportState.SENT
    report.sent_at, report.sent_by, report.sent_to = utcnow(), actor.name, body.sent_to
    await session.flush()
    return report


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultReportFilter:
    states: frozenset[FaultReportState] = frozenset()
    customer_pk: int | None = None
    work_order_pk: int | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


async def list_reports(session: AsyncSession, *, filters: FaultReportFilter, limit: int,
                       offset: int) -> Page[FaultReport]:
    f = filters
    stmt = sa.select(FaultReport).order_by(FaultReport.occurred_at.desc(), FaultReport.id.desc())
    if f.states:
        stmt = stmt.where(FaultReport.state.in_(f.states))
    if f.customer_pk is not None:
        stmt = stmt.where(FaultReport.customer_pk == f.customer_pk)
    if f.work_order_pk is not None:
        stmt = stmt.where(FaultReport.work_order_pk == f.work_order_pk)
    if f.occurred_from is not None:
        stmt = stmt.where(FaultReport.occurred_at >= f.occurred_from)
    if f.occurred_to is not None:
        stmt = stmt.where(FaultReport.occurred_at < f.occurred_to)
    return await paginate(session, stmt, limit=limit, offset=offset)
