"""Install requests: a customer's vehicle list becomes one install order per vehicle, each
submitted for the manager's approval; the manager decides the request as a whole or order by
order."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import Conflict, InvalidInput
from fieldservice.models import (
    Customer,
    InstallRequest,
    Source,
    Vehicle,
    WorkOrder,
    WorkOrderState,
    WorkOrderType,
)
from fieldservice.schemas.fleet import VehicleCreate
from fieldservice.schemas.work_orders import (
    DecisionBody,
    InstallRequestCreate,
    InstallVehicle,
    WorkOrderCreate,
)
from fieldservice.services.records import Page, check_version, get_or_404, paginate
from fieldservice.services.vehicles import create_vehicle, vehicle_by_plate, vehicle_by_vin
from fieldservice.services.work_orders import create_work_order
from fieldservice.timestamps import utcnow
from fieldservice.workflow import TransitionRequest, TransitionTable, perform


async def _vehicle_for(session: AsyncSession, customer: Customer,
                       item: InstallVehicle) -> Vehicle:
    """The customer's vehicle with this plate (details refreshed), or a new one."""
    vehicle = await vehicle_by_plate(session, item.plate)
    if vehicle is None:
        return await create_vehicle(session, data=VehicleCreate(
            customer_id=customer.id, plate=item.plate, vin=item.vin, model=item.model,
            driver_name=item.driver_name, driver_phone=item.driver_phone,
        ))
    if vehicle.customer_pk != customer.id:
        raise Conflict(f"plate {item.plate} is registered to another customer "
                       f"({vehicle.customer.company})")
    if item.vin is not None and vehicle.vin not in (None, item.vin):
        raise Conflict(f"plate {item.plate} is registered with VIN {vehicle.vin}, "
                       f"not {item.vin}")
    if item.vin is not None and vehicle.vin is None:
        other = await vehicle_by_vin(session, item.vin)
        if other is not None:
            raise Conflict(f"VIN {item.vin} is already registered (vehicle {other.plate})")
    for key in ("vin", "model", "driver_name", "driver_phone"):
        value = getattr(item, key)
        if value is not None and getattr(vehicle, key) != value:
            setattr(vehicle, key, value)
    return vehicle


async def create_install_request(session: AsyncSession, *, actor: Actor,
                                 table: TransitionTable,
                                 data: InstallRequestCreate) -> tuple[InstallRequest,
                                                                      list[WorkOrder]]:
    plates = [v.plate for v in data.vehicles]
    duplicates = sorted({p for p in plates if plates.count(p) > 1})
    if duplicates:
        raise InvalidInput(f"vehicles lists plate(s) twice: {', '.join(duplicates)}")
    customer = await session.get(Customer, data.customer_id)
    if customer is None:
        raise InvalidInput(f"customer_id {data.customer_id}: no such customer")
    if not customer.active:
        raise Conflict(f"customer {customer.company} is deactivated")
    request = InstallRequest(
        customer_pk=customer.id, contact_name=data.contact_name,
        contact_phone=data.contact_phone, address=data.address,
        requested_date=data.requested_date, notes=data.notes, created_by_pk=actor.user_pk,
    )
    request.customer = customer
    session.add(request)
    await session.flush()
    orders = []
    for item in data.vehicles:
        vehicle = await _vehicle_for(session, customer, item)
        order = await create_work_order(session, actor=actor, install_request_pk=request.id,
                                        data=WorkOrderCreate(
            type=WorkOrderType.INSTALL, source=Source.CUSTOMER_CALL, priority=data.priority,
            customer_id=customer.id, vehicle_id=vehicle.id,
            address=item.address or data.address,
            contact_name=item.contact_name or data.contact_name or item.driver_name,
            contact_phone=item.contact_phone or data.contact_phone or item.driver_phone,
            description=data.notes,
        ))
        await perform(session, table=table, order=order, action="submit", actor=actor,
                      request=TransitionRequest(version=order.version,
                                                note=f"install request {request.id}"))
        orders.append(order)
    return request, orders


async def orders_of(session: AsyncSession, request: InstallRequest) -> list[WorkOrder]:
    return list((await session.execute(
        sa.select(WorkOrder).where(WorkOrder.install_request_pk == request.id)
        .order_by(WorkOrder.id)
    )).scalars())


async def decide(session: AsyncSession, *, actor: Actor, table: TransitionTable,
                 request_pk: int, body: DecisionBody, approve: bool) -> InstallRequest:
    """Approve (or reject) every order of the request still awaiting approval."""
    request = await get_or_404(session, InstallRequest, request_pk, "install request")
    check_version(request, body.version, f"install request {request.id}")
    if request.decision is not None:
        raise Conflict(f"install request {request.id} was already {request.decision}")
    pending = [o for o in await orders_of(session, request)
               if o.state is WorkOrderState.AWAITING_APPROVAL]
    if not pending:
        raise Conflict(f"install request {request.id} has no order awaiting approval")
    action = "approve" if approve else "reject"
    for order in pending:
        await perform(session, table=table, order=order, action=action, actor=actor,
                      request=TransitionRequest(version=order.version, note=body.note))
    request.decision = "approved" if approve else "rejected"
    request.decided_at = utcnow()
    request.decided_by_pk = actor.user_pk
    request.decision_note = body.note
    await session.flush()
    return request


async def list_requests(session: AsyncSession, *, customer_pk: int | None,
                        created_from: datetime | None, created_to: datetime | None,
                        limit: int, offset: int) -> Page[InstallRequest]:
    stmt = sa.select(InstallRequest).order_by(InstallRequest.created_at.desc(),
                                              InstallRequest.id.desc())
    if customer_pk is not None:
        stmt = stmt.where(InstallRequest.customer_pk == customer_pk)
    if created_from is not None:
        stmt = stmt.where(InstallRequest.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(InstallRequest.created_at < created_to)
    return await paginate(session, stmt, limit=limit, offset=offset)
