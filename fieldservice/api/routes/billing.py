"""Parts used on repair orders, the repair's charge and its payment, finance's confirmation and
the billing report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.actors import Actor
from fieldservice.api.deps import IdPath, IdQuery, OrdersReader, PagingDep, SessionDep, StateDep
from fieldservice.api.gates import (
    BillingReporter,
    PartsUser,
    PaymentsCollector,
    PaymentsConfirmer,
    PaymentsReader,
)
from fieldservice.models.billing import ChargeState, RepairCharge
from fieldservice.money import MoneyOut
from fieldservice.schemas.billing import (
    BillingReport,
    ChargePublic,
    ConfirmBody,
    PartUseBody,
    PartUsePublic,
    PaymentBody,
    VoidUseBody,
)
from fieldservice.schemas.common import Instant, Page, Public
from fieldservice.services import billing as service
from fieldservice.services.records import get_or_404
from fieldservice.services.work_orders import get_order
from fieldservice.timestamps import as_utc, utcnow

orders_router = APIRouter(prefix="/api/work-orders", tags=["billing"])
router = APIRouter(prefix="/api", tags=["billing"])


class OrderParts(Public):
    work_order_id: int
    #: the order's version after the change (field work bumps it)
    order_version: int
    lines: list[PartUsePublic]
    #: value of the lines not voided
    parts_value: MoneyOut


async def _parts(session: SessionDep, order_id: int, actor: Actor) -> OrderParts:
    order = await get_order(session, order_id, actor=actor, reload=True)
    lines = await service.usages_of(session, order.id)
    value = sum((u.amount for u in lines if u.voided_at is None), service.ZERO)
    return OrderParts(work_order_id=order.id, order_version=order.version,
                      lines=[PartUsePublic.of(u) for u in lines], parts_value=value)


@orders_router.get("/{order_id}/parts", response_model=OrderParts,
                   summary="Parts used on the order, with the prices they had when used")
async def parts_used(order_id: IdPath, actor: OrdersReader, session: SessionDep) -> OrderParts:
    return await _parts(session, order_id, actor)


@orders_router.post("/{order_id}/parts", response_model=OrderParts,
                    status_code=status.HTTP_201_CREATED,
                    summary="Record a part used on site, priced from the list now (assignee)")
async def use_part(order_id: IdPath, body: PartUseBody, actor: PartsUser,
                   session: SessionDep) -> OrderParts:
    await service.use_part(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _parts(session, order_id, actor)


@orders_router.post("/{order_id}/parts/{use_id}/void", response_model=OrderParts,
                    summary="Void a part line recorded by mistake (assignee; kept, marked void)")
async def void_part(order_id: IdPath, use_id: IdPath, body: VoidUseBody, actor: PartsUser,
                    session: SessionDep) -> OrderParts:
    await service.void_part_use(session, actor=actor, order_pk=order_id, use_pk=use_id,
                                body=body)
    await session.commit()
    return await _parts(session, order_id, actor)


async def _charge_public(session: SessionDep, charge: RepairCharge) -> ChargePublic:
    numbers = await service.order_numbers(session, [charge.work_order_pk])
    lines = await service.usages_of(session, charge.work_order_pk, include_voided=False)
    return ChargePublic.of(charge, number=numbers[charge.work_order_pk], lines=lines)


@orders_router.get("/{order_id}/charge", response_model=ChargePublic,
                   summary="The repair's charge, or a quote (state quote) until it completes")
async def charge(order_id: IdPath, actor: OrdersReader, session: SessionDep,
                 state: StateDep) -> ChargePublic:
    order = await get_order(session, order_id, actor=actor)
    made = await service.charge_of(session, order.id)
    if made is not None:
        return await _charge_public(session, made)
    now = utcnow()
    quote = await service.assess(session, order, on=now.date(),
                                 currency=state.settings.currency)
    return ChargePublic(
        id=None, work_order_id=order.id, work_order_number=order.number,
        customer_id=order.customer_pk, technician_id=order.assignee_pk, state="quote",
        charged_at=None, terminal_id=quote.terminal.terminal_id if quote.terminal else None,
        installed_on=quote.installed_on, warranty_until=quote.warranty_until,
        in_warranty=quote.in_warranty, parts_value=quote.parts_value, total=quote.total,
        currency=quote.currency, lines=[PartUsePublic.of(u) for u in quote.lines],
    )


@orders_router.post("/{order_id}/payment", response_model=ChargePublic,
                    summary="Record the payment collected on site: amount, method, invoice "
                            "number (assignee)")
async def record_payment(order_id: IdPath, body: PaymentBody, actor: PaymentsCollector,
                         session: SessionDep) -> ChargePublic:
    made = await service.record_payment(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _charge_public(session, made)


@router.get("/payments", response_model=Page[ChargePublic],
            summary="Repair charges and their payments, newest first")
async def list_payments(
    _: PaymentsReader, session: SessionDep, paging: PagingDep,
    state: Annotated[list[ChargeState] | None, Query(description="repeatable")] = None,
    customer_id: IdQuery = None,
    technician_id: IdQuery = None,
    charged_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    charged_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> Page[ChargePublic]:
    filters = service.ChargeFilter(
        states=frozenset(state or ()), customer_pk=customer_id, technician_pk=technician_id,
        charged_from=as_utc(charged_from) if charged_from else None,
        charged_to=as_utc(charged_to) if charged_to else None)
    page = await service.list_charges(session, filters=filters, limit=paging.limit,
                                      offset=paging.offset)
    return Page(items=[await _charge_public(session, c) for c in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.get("/payments/{charge_id}", response_model=ChargePublic,
            summary="One repair charge and its payment")
async def get_payment(charge_id: IdPath, _: PaymentsReader,
                      session: SessionDep) -> ChargePublic:
    return await _charge_public(session, await get_or_404(session, RepairCharge, charge_id,
                                                          "charge"))


@router.post("/payments/{charge_id}/confirm", response_model=ChargePublic,
             summary="Confirm the money collected on site arrived")
async def confirm_payment(charge_id: IdPath, body: ConfirmBody, actor: PaymentsConfirmer,
                          session: SessionDep) -> ChargePublic:
    made = await service.confirm_receipt(session, actor=actor, charge_pk=charge_id, body=body)
    await session.commit()
    return await _charge_public(session, made)


@router.get("/billing/report", response_model=BillingReport,
            summary="Charged, collected, confirmed and outstanding amounts per currency")
async def billing_report(
    _: BillingReporter, session: SessionDep,
    period_from: Annotated[Instant | None, Query(description="charges made at or after; "
                                                              "naive = UTC")] = None,
    period_to: Annotated[Instant | None, Query(description="charges made before")] = None,
) -> BillingReport:
    start = as_utc(period_from) if period_from else None
    end = as_utc(period_to) if period_to else None
    totals = await service.billing_report(session, charged_from=start, charged_to=end)
    return BillingReport(period_from=start, period_to=end, currencies=totals)
