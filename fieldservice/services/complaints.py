"""Complaints: the first responder owns one until it is closed.

Whoever records a complaint is its owner; ownership is not a field anyone can change. Handing
it to the responsible department records the department, and the complaint stays with its
owner, who replies to the customer and closes it (a manager may act for any owner). Closing
needs a recorded reply and a cause.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.db.counters import next_value
from fieldservice.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Reason, Refused
from fieldservice.models import Customer, User, WorkOrder
from fieldservice.models.complaints import (
    Complaint,
    ComplaintCause,
    ComplaintState,
    ComplaintWorkOrder,
)
from fieldservice.roles import OFFICE_READERS, Role
from fieldservice.schemas.complaints import (
    CauseGroup,
    CloseBody,
    ComplaintCreate,
    ComplaintReport,
    ComplaintUpdate,
    CorrectiveAction,
    HandOverBody,
    LinkBody,
    ReplyBody,
)
from fieldservice.services.records import Page, apply_changes, check_version, paginate
from fieldservice.timestamps import as_utc, utcnow


def _may_read(complaint: Complaint, actor: Actor) -> bool:
    return actor.is_system or actor.role in OFFICE_READERS or complaint.owner_pk == actor.user_pk


async def get_complaint(session: AsyncSession, complaint_pk: int, *, actor: Actor) -> Complaint:
    complaint = await session.get(Complaint, complaint_pk)
    if complaint is None:
        raise NotFound(f"no complaint with id {complaint_pk}")
    if not _may_read(complaint, actor):
        raise PermissionDenied(f"complaint {complaint.number} is not yours")
    return complaint


async def _owned(session: AsyncSession, *, actor: Actor, complaint_pk: int, version: int,
                 what: str) -> Complaint:
    complaint = await get_complaint(session, complaint_pk, actor=actor)
    if not (actor.is_system or actor.role is Role.MANAGER or complaint.owner_pk == actor.user_pk):
        raise PermissionDenied(f"complaint {complaint.number} is owned by "
                               f"{complaint.owner.username}: only the owner or a manager may "
                               f"{what}")
    check_version(complaint, version, f"complaint {complaint.number}")
    if complaint.state is ComplaintState.CLOSED:
        raise Conflict(f"complaint {complaint.number} is closed")
    complaint.updated_at = utcnow()  # every step is a change: bump the version
    return complaint


async def linked_orders(session: AsyncSession, complaint_pk: int) -> list[int]:
    return list((await session.execute(
        sa.select(ComplaintWorkOrder.work_order_pk)
        .where(ComplaintWorkOrder.complaint_pk == complaint_pk)
        .order_by(ComplaintWorkOrder.id)
    )).scalars())


async def _link(session: AsyncSession, *, complaint: Complaint, order_pk: int,
                actor: Actor) -> None:
    if await session.get(WorkOrder, order_pk) is None:
        raise InvalidInput(f"work_order_id {order_pk}: no such work order")
    if order_pk in await linked_orders(session, complaint.id):
        raise Conflict(f"complaint {complaint.number} is linked to work order {order_pk} "
                       "already")
    session.add(ComplaintWorkOrder(complaint_pk=complaint.id, work_order_pk=order_pk,
                                   linked_at=utcnow(), linked_by=actor.name))
    await session.flush()


async def create_complaint(session: AsyncSession, *, actor: Actor,
                           data: ComplaintCreate) -> Complaint:
    if actor.user_pk is None:
        raise InvalidInput("a complaint is owned by the user who received it: record it as "
                           "that user")
    customer = await session.get(Customer, data.customer_id)
    if customer is None:
        raise InvalidInput(f"customer_id {data.customer_id}: no such customer")
    now = utcnow()
    received = as_utc(data.received_at) if data.received_at else now
    if received > now:
        raise InvalidInput("received_at is in the future")
    owner = await session.get(User, actor.user_pk)
    if owner is None:
        raise InvalidInput(f"user {actor.user_pk} (the complaint's owner) does not exist")
    complaint = Complaint(
        number=f"CP-{now.year}-{await next_value(session, f'complaint:{now.year}'):06d}",
        customer_pk=customer.id, channel=data.channel, received_at=received,
        owner_pk=actor.user_pk, complainant=data.complainant, subject=data.subject,
        description=data.description, state=ComplaintState.OPEN, cause=data.cause,
    )
    complaint.customer, complaint.owner = customer, owner
    session.add(complaint)
    await session.flush()
    for order_pk in dict.fromkeys(data.work_order_ids):
        await _link(session, complaint=complaint, order_pk=order_pk, actor=actor)
    return complaint


async def update_complaint(session: AsyncSession, *, actor: Actor, complaint_pk: int,
                           data: ComplaintUpdate) -> Complaint:
    complaint = await _owned(session, actor=actor, complaint_pk=complaint_pk,
                             version=data.version, what="edit it")
    apply_changes(complaint, data.changes())
    await session.flush()
    return complaint


async def hand_over(session: AsyncSession, *, actor: Actor, complaint_pk: int,
                    body: HandOverBody) -> Complaint:
    complaint = await _owned(session, actor=actor, complaint_pk=complaint_pk,
                             version=body.version, what="hand it over")
    complaint.department = body.department
    complaint.handed_over_at, complaint.handed_over_by = utcnow(), actor.name
    complaint.state = ComplaintState.HANDED_OVER
    await session.flush()
    return complaint


async def reply(session: AsyncSession, *, actor: Actor, complaint_pk: int,
                body: ReplyBody) -> Complaint:
    complaint = await _owned(session, actor=actor, complaint_pk=complaint_pk,
                             version=body.version, what="reply")
    complaint.reply, complaint.reply_channel = body.reply, body.channel
    complaint.replied_at, complaint.replied_by = utcnow(), actor.name
    await session.flush()
    return complaint


async def close(session: AsyncSession, *, actor: Actor, complaint_pk: int,
                body: CloseBody) -> Complaint:
    complaint = await _owned(session, actor=actor, complaint_pk=complaint_pk,
                             version=body.version, what="close it")
    reasons = []
    if not complaint.reply:
        reasons.append(Reason("reply_missing", "record the reply to the customer first"))
    if complaint.cause is None:
        reasons.append(Reason("cause_missing",
                              "classify its cause first (the quarterly report groups by it)"))
    if reasons:
        raise Refused(what=f"complaint {complaint.number}", action="close", reasons=reasons)
    complaint.state = ComplaintState.CLOSED
    complaint.closed_at, complaint.closed_by = utcnow(), actor.name
    await session.flush()
    return complaint


async def link_order(session: AsyncSession, *, actor: Actor, complaint_pk: int,
                     body: LinkBody) -> Complaint:
    complaint = await _owned(session, actor=actor, complaint_pk=complaint_pk,
                             version=body.version, what="link work orders")
    await _link(session, complaint=complaint, order_pk=body.work_order_id, actor=actor)
    return complaint


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintFilter:
    states: frozenset[ComplaintState] = frozenset()
    customer_pk: int | None = None
    owner_pk: int | None = None
    channel: str | None = None
    cause: ComplaintCause | None = None
    department: str | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


async def list_complaints(session: AsyncSession, *, actor: Actor, filters: ComplaintFilter,
                          limit: int, offset: int) -> Page[Complaint]:
    f = filters
    stmt = sa.select(Complaint).order_by(Complaint.received_at.desc(), Complaint.id.desc())
    if f.states:
        stmt = stmt.where(Complaint.state.in_(f.states))
    for column, value in ((Complaint.customer_pk, f.customer_pk),
                          (Complaint.owner_pk, f.owner_pk), (Complaint.channel, f.channel),
                          (Complaint.cause, f.cause), (Complaint.department, f.department)):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.received_from is not None:
        stmt = stmt.where(Complaint.received_at >= f.received_from)
    if f.received_to is not None:
        stmt = stmt.where(Complaint.received_at < f.received_to)
    if not actor.is_system and actor.role not in OFFICE_READERS:
        stmt = stmt.where(Complaint.owner_pk == actor.user_pk)
    return await paginate(session, stmt, limit=limit, offset=offset)


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=UTC)
    end = (datetime(year + 1, 1, 1, tzinfo=UTC) if quarter == 4
           else datetime(year, 3 * quarter + 1, 1, tzinfo=UTC))
    return start, end


async def quarterly_report(session: AsyncSession, *, year: int,
                           quarter: int) -> ComplaintReport:
    """Complaints received in the quarter (UTC), grouped by cause, with the corrective actions
    taken; the groups with most complaints first."""
    start, end = quarter_bounds(year, quarter)
    complaints = list((await session.execute(
        sa.select(Complaint).where(Complaint.received_at >= start, Complaint.received_at < end)
        .order_by(Complaint.received_at, Complaint.id)
    )).scalars())
    groups: dict[str, list[Complaint]] = {}
    for c in complaints:
        groups.setdefault(c.cause.value if c.cause else "unclassified", []).append(c)
    causes = [
        CauseGroup(
            cause=cause, complaints=len(items),
            closed=sum(c.state is ComplaintState.CLOSED for c in items),
            open=sum(c.state is not ComplaintState.CLOSED for c in items),
            by_channel=dict(sorted(Counter(c.channel.value for c in items).items())),
            corrective_actions=[CorrectiveAction(complaint=c.number, action=c.corrective_action)
                                for c in items if c.corrective_action],
        )
        for cause, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    return ComplaintReport(year=year, quarter=quarter, period_from=start, period_to=end,
                           total=len(complaints), causes=causes)
