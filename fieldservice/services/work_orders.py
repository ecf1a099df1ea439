"""Work orders: creation, edits, queries, transitions (through the workflow table)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.db.counters import next_work_order_number
from fieldservice.errors import Conflict, InvalidInput, PermissionDenied, refusal
from fieldservice.models import (
    FINAL_STATES,
    Customer,
    Priority,
    Source,
    Terminal,
    Vehicle,
    WorkOrder,
    WorkOrderState,
    WorkOrderTransition,
    WorkOrderType,
)
from fieldservice.roles import Role
from fieldservice.schemas.common import Refusal
from fieldservice.schemas.work_orders import ActionAvailability, WorkOrderCreate, WorkOrderUpdate
from fieldservice.services import bindings
from fieldservice.services.order_access import get_order
from fieldservice.services.records import Page, apply_changes, check_version, paginate
from fieldservice.services.registry import terminal_by_id
from fieldservice.timestamps import utcnow
from fieldservice.workflow import TransitionContext, TransitionRequest, TransitionTable, perform
from fieldservice.workflow.transitions import check_actor, guard_reasons

#: no more edits once the work is done
FROZEN_STATES = FINAL_STATES | {WorkOrderState.COMPLETED}


class OrderSort(enum.StrEnum):
    """How a list of orders is sorted."""

    CREATED = "created"  #: newest first (the office's view)
    PRIORITY = "priority"  #: urgent first, then by schedule, then oldest (a technician's day)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkOrderFilter:
    states: frozenset[WorkOrderState] = frozenset()
    type: WorkOrderType | None = None
    priority: Priority | None = None
    source: Source | None = None
    assignee_pk: int | None = None
    customer_pk: int | None = None
    vehicle_pk: int | None = None
    terminal_id: str | None = None
    install_request_pk: int | None = None
    number: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def _resolve_refs(session: AsyncSession, data: WorkOrderCreate) -> tuple[
        Customer, Vehicle | None, Terminal | None]:
    terminal = vehicle = None
    if data.terminal_id is not None:
        terminal = await terminal_by_id(session, data.terminal_id)
        if terminal is None:
            raise InvalidInput(f"terminal_id {data.terminal_id}: no such terminal")
    if data.vehicle_id is not None:
        vehicle = await session.get(Vehicle, data.vehicle_id)
        if vehicle is None:
            raise InvalidInput(f"vehicle_id {data.vehicle_id}: no such vehicle")
    if terminal is not None and vehicle is None:
        binding = await bindings.open_vehicle_binding(session, terminal_pk=terminal.id)
        vehicle = binding.vehicle if binding else None
    if vehicle is not None and terminal is None and data.type is WorkOrderType.REPAIR:
        binding = await bindings.open_vehicle_binding(session, vehicle_pk=vehicle.id)
        terminal = binding.terminal if binding else None
    customer_pk = data.customer_id or (vehicle.customer_pk if vehicle else None)
    if customer_pk is None:
        raise InvalidInput("customer_id is required when no vehicle or installed terminal "
                           "names the customer")
    if vehicle is not None and vehicle.customer_pk != customer_pk:
        raise InvalidInput(f"vehicle {vehicle.plate} belongs to customer {vehicle.customer_pk}, "
                           f"not {customer_pk}")
    customer = await session.get(Customer, customer_pk)
    if customer is None:
        raise InvalidInput(f"customer_id {customer_pk}: no such customer")
    if not customer.active:
        raise Conflict(f"customer {customer.company} is deactivated")
    return customer, vehicle, terminal


async def create_work_order(session: AsyncSession, *, actor: Actor, data: WorkOrderCreate,
                            install_request_pk: int | None = None) -> WorkOrder:
    """A new order in state ``new``. Callers outside the API (the health rules of issue 4)
    use this too, with a system actor and source ``auto_detected``."""
    customer, vehicle, terminal = await _resolve_refs(session, data)
    now = utcnow()
    order = WorkOrder(
        number=await next_work_order_number(session, year=now.year),
        type=data.type, priority=data.priority, source=data.source, state=WorkOrderState.NEW,
        state_changed_at=now, customer_pk=customer.id,
        vehicle_pk=vehicle.id if vehicle else None,
        terminal_pk=terminal.id if terminal else None,
        install_request_pk=install_request_pk, created_by_pk=actor.user_pk,
        description=data.description, address=data.address or customer.address,
        contact_name=data.contact_name or customer.contact_name,
        contact_phone=data.contact_phone or customer.phone,
        scheduled_for=data.scheduled_for,
        terminal_model=data.terminal_model or (terminal.model if terminal else None),
        purchase_date=data.purchase_date or (terminal.purchase_date if terminal else None),
        symptoms=data.symptoms, suggested_action=data.suggested_action, checklist={},
    )
    order.customer, order.vehicle, order.terminal, order.assignee = (customer, vehicle,
                                                                     terminal, None)
    session.add(order)
    await session.flush()
    return order


async def update_work_order(session: AsyncSession, *, actor: Actor, order_pk: int,
                            data: WorkOrderUpdate) -> WorkOrder:
    order = await get_order(session, order_pk, actor=actor)
    check_version(order, data.version, f"work order {order.number}")
    if order.state in FROZEN_STATES:
        raise Conflict(f"work order {order.number} is {order.state.value}; it can no longer "
                       "be edited")
    apply_changes(order, data.changes())
    await session.flush()
    return order


def _filtered(stmt: sa.Select, f: WorkOrderFilter) -> sa.Select:
    if f.states:
        stmt = stmt.where(WorkOrder.state.in_(f.states))
    for column, value in ((WorkOrder.type, f.type), (WorkOrder.priority, f.priority),
                          (WorkOrder.source, f.source), (WorkOrder.assignee_pk, f.assignee_pk),
                          (WorkOrder.customer_pk, f.customer_pk),
                          (WorkOrder.vehicle_pk, f.vehicle_pk),
                          (WorkOrder.install_request_pk, f.install_request_pk),
                          (WorkOrder.number, f.number)):
        if value is not None:
            stmt = stmt.where(column == value)
    if f.terminal_id is not None:
        stmt = stmt.join(Terminal, Terminal.id == WorkOrder.terminal_pk).where(
            Terminal.terminal_id == f.terminal_id)
    if f.created_from is not None:
        stmt = stmt.where(WorkOrder.created_at >= f.created_from)
    if f.created_to is not None:
        stmt = stmt.where(WorkOrder.created_at < f.created_to)
    return stmt


async def list_orders(session: AsyncSession, *, actor: Actor, filters: WorkOrderFilter,
                      limit: int, offset: int,
                      sort: OrderSort = OrderSort.CREATED) -> Page[WorkOrder]:
    stmt = _filtered(sa.select(WorkOrder), filters)
    if sort is OrderSort.PRIORITY:
        stmt = stmt.order_by(
            sa.case((WorkOrder.priority == Priority.URGENT, 0), else_=1),
            WorkOrder.scheduled_for.is_(None), WorkOrder.scheduled_for,
            WorkOrder.created_at, WorkOrder.id)
    else:
        stmt = stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
    if actor.role is Role.TECHNICIAN:
        stmt = stmt.where(WorkOrder.assignee_pk == actor.user_pk)
    return await paginate(session, stmt, limit=limit, offset=offset)


async def transitions_of(session: AsyncSession, order: WorkOrder) -> list[WorkOrderTransition]:
    return list((await session.execute(
        sa.select(WorkOrderTransition).where(WorkOrderTransition.work_order_pk == order.id)
        .order_by(WorkOrderTransition.at, WorkOrderTransition.id)
    )).scalars())


async def available_actions(session: AsyncSession, *, table: TransitionTable, order: WorkOrder,
                            actor: Actor) -> list[ActionAvailability]:
    """Every action that leaves the order's state, with whether this actor may take it now
    and, if not, why (the guards are asked with an empty request)."""
    out = []
    for transition in table.from_state(order.state):
        reasons: list[str] = []
        try:
            check_actor(transition, order, actor)
        except PermissionDenied as exc:
            reasons.append(exc.message)
        request = transition.request_model(version=order.version)
        ctx = TransitionContext(session=session, order=order, actor=actor, request=request,
                                now=utcnow())
        reasons += await guard_reasons(transition, ctx)
        out.append(ActionAvailability(action=transition.action, target=transition.target.value,
                                      summary=transition.summary, allowed=not reasons,
                                      reasons=reasons,
                                      refusals=[Refusal.model_validate(refusal(r))
                                                for r in reasons]))
    return out


async def run_transition(session: AsyncSession, *, table: TransitionTable, order_pk: int,
                         action: str, actor: Actor, request: TransitionRequest) -> WorkOrder:
    order = await get_order(session, order_pk, actor=actor)
    await perform(session, table=table, order=order, action=action, actor=actor,
                  request=request)
    return order
