"""Work orders: list, create, read, edit, history, available actions, swaps."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, status

from fieldservice.api.deps import (
    IdPath,
    IdQuery,
    OrdersCreator,
    OrdersReader,
    OrdersUpdater,
    PagingDep,
    SessionDep,
    StateDep,
)
from fieldservice.api.routes.fleet_health import FaultPublic, fault_public
from fieldservice.models import Priority, Source, WorkOrderState, WorkOrderType
from fieldservice.schemas.common import Instant, Page
from fieldservice.schemas.fleet import SwapPublic
from fieldservice.schemas.work_orders import (
    ActionAvailability,
    TransitionPublic,
    WorkOrderCreate,
    WorkOrderPublic,
    WorkOrderUpdate,
)
from fieldservice.services import bindings
from fieldservice.services import work_orders as service
from fieldservice.timestamps import as_utc
from telemetry.health.schema import faults

router = APIRouter(prefix="/api/work-orders", tags=["work orders"])


@router.get("", response_model=Page[WorkOrderPublic],
            summary="List work orders (technicians: their own)")
async def list_orders(
    actor: OrdersReader, session: SessionDep, paging: PagingDep,
    state: Annotated[list[WorkOrderState] | None, Query(description="repeatable")] = None,
    type: WorkOrderType | None = None,  # noqa: A002 (the resource's field name)
    priority: Priority | None = None,
    source: Source | None = None,
    assignee_id: IdQuery = None,
    customer_id: IdQuery = None,
    vehicle_id: IdQuery = None,
    terminal_id: Annotated[str | None, Query(max_length=64)] = None,
    install_request_id: IdQuery = None,
    number: Annotated[str | None, Query(max_length=32)] = None,
    created_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    created_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
    sort: Annotated[service.OrderSort, Query(
        description="created: newest first; priority: urgent first, then by schedule, "
                    "then oldest first")] = service.OrderSort.CREATED,
) -> Page[WorkOrderPublic]:
    filters = service.WorkOrderFilter(
        states=frozenset(state or ()), type=type, priority=priority, source=source,
        assignee_pk=assignee_id, customer_pk=customer_id, vehicle_pk=vehicle_id,
        terminal_id=terminal_id, install_request_pk=install_request_id, number=number,
        created_from=as_utc(created_from) if created_from else None,
        created_to=as_utc(created_to) if created_to else None,
    )
    page = await service.list_orders(session, actor=actor, filters=filters, limit=paging.limit,
                                     offset=paging.offset, sort=sort)
    return Page(items=[WorkOrderPublic.of(o) for o in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("", response_model=WorkOrderPublic, status_code=status.HTTP_201_CREATED,
             summary="Open a work order (state new)")
async def create_order(body: WorkOrderCreate, actor: OrdersCreator,
                       session: SessionDep) -> WorkOrderPublic:
    order = await service.create_work_order(session, actor=actor, data=body)
    await session.commit()
    return WorkOrderPublic.of(order)


@router.get("/{order_id}", response_model=WorkOrderPublic, summary="One work order")
async def get_order(order_id: IdPath, actor: OrdersReader, session: SessionDep) -> WorkOrderPublic:
    return WorkOrderPublic.of(await service.get_order(session, order_id, actor=actor))


@router.patch("/{order_id}", response_model=WorkOrderPublic,
              summary="Edit an order's details (until it is completed)")
async def update_order(order_id: IdPath, body: WorkOrderUpdate, actor: OrdersUpdater,
                       session: SessionDep) -> WorkOrderPublic:
    order = await service.update_work_order(session, actor=actor, order_pk=order_id, data=body)
    await session.commit()
    return WorkOrderPublic.of(order)


@router.get("/{order_id}/transitions", response_model=list[TransitionPublic],
            summary="The order's state changes: who, when, from, to, note")
async def transitions(order_id: IdPath, actor: OrdersReader,
                      session: SessionDep) -> list[TransitionPublic]:
    order = await service.get_order(session, order_id, actor=actor)
    return [TransitionPublic.of(t) for t in await service.transitions_of(session, order)]


@router.get("/{order_id}/actions", response_model=list[ActionAvailability],
            summary="Actions leaving the order's state, and whether the caller may take them")
async def actions(order_id: IdPath, actor: OrdersReader, session: SessionDep,
                  state: StateDep) -> list[ActionAvailability]:
    order = await service.get_order(session, order_id, actor=actor)
    return await service.available_actions(session, table=state.transitions, order=order,
                                           actor=actor)


@router.get("/{order_id}/faults", response_model=list[FaultPublic],
            summary="The terminal faults that opened this order or were absorbed into it")
async def order_faults(order_id: IdPath, actor: OrdersReader,
                       session: SessionDep) -> list[FaultPublic]:
    order = await service.get_order(session, order_id, actor=actor)
    rows = (await session.execute(
        sa.select(faults).where(faults.c.work_order_id == order.id).order_by(faults.c.id)
    )).all()
    return [fault_public(r) for r in rows]


@router.get("/{order_id}/swaps", response_model=list[SwapPublic],
            summary="Terminal and SIM swaps done on this order")
async def swaps(order_id: IdPath, actor: OrdersReader, session: SessionDep) -> list[SwapPublic]:
    order = await service.get_order(session, order_id, actor=actor)
    return [SwapPublic.of(s) for s in await bindings.swaps(session, work_order_pk=order.id)]
