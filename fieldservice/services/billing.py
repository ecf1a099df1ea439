"""Warranty billing: parts used on a repair, the charge fixed when it completes, the payment the
technician collects on site, and finance's confirmation.

The rule (issue 3): a repair of a terminal in warranty (``warranty_months`` from its install
date, on the day the repair completes) is free. Out of warranty the customer pays for the parts
only, at the prices they had when they were used; labour is free. The charge is made once per
repair order (unique key), by the ``complete`` transition; ``close`` waits until a charge that
is due has been collected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Reason, Refused
from fieldservice.models import (
    SwapKind,
    Terminal,
    WorkOrder,
    WorkOrderState,
    WorkOrderType,
)
from fieldservice.models.billing import ChargeState, PartUsage, RepairCharge
from fieldservice.money import quantize
from fieldservice.roles import Role
from fieldservice.schemas.billing import (
    ConfirmBody,
    CurrencyTotals,
    PartUseBody,
    PaymentBody,
    VoidUseBody,
)
from fieldservice.services import bindings
from fieldservice.services.order_access import get_order
from fieldservice.services.parts import part_by_code, price_at
from fieldservice.services.records import Page, check_version, get_or_404, paginate
from fieldservice.services.registry import terminal_by_id
from fieldservice.timestamps import utcnow
from fieldservice.warranty import warranty_status

ZERO = Decimal("0.00")


async def _assignee_order(session: AsyncSession, *, actor: Actor, order_pk: int, version: int,
                          what: str, states: frozenset[WorkOrderState]) -> WorkOrder:
    order = await get_order(session, order_pk, actor=actor)
    if not actor.is_system and (actor.role is not Role.TECHNICIAN
                                or order.assignee_pk != actor.user_pk):
        raise PermissionDenied(f"only the technician assigned to {order.number} may {what}")
    check_version(order, version, f"work order {order.number}")
    if order.type is not WorkOrderType.REPAIR:
        raise Conflict(f"{what} applies to repair orders; {order.number} is an "
                       f"{order.type.value} order")
    if order.state not in states:
        raise Conflict(f"{what} is done when the order is "
                       f"{' or '.join(sorted(s.value for s in states))}; {order.number} is "
                       f"{order.state.value}")
    return order


async def usages_of(session: AsyncSession, order_pk: int, *,
                    include_voided: bool = True) -> list[PartUsage]:
    stmt = sa.select(PartUsage).where(PartUsage.work_order_pk == order_pk)
    if not include_voided:
        stmt = stmt.where(PartUsage.voided_at.is_(None))
    return list((await session.execute(stmt.order_by(PartUsage.used_at, PartUsage.id))).scalars())


async def use_part(session: AsyncSession, *, actor: Actor, order_pk: int,
                   body: PartUseBody) -> PartUsage:
    """The assigned technician records a part used on site, priced now from the price list."""
    order = await _assignee_order(session, actor=actor, order_pk=order_pk, version=body.version,
                                  what="record parts used",
                                  states=frozenset({WorkOrderState.ON_SITE}))
    part = await part_by_code(session, body.part_code)
    if part is None:
        raise InvalidInput(f"part_code {body.part_code}: no such part")
    if not part.active:
        raise Conflict(f"part {part.code} is withdrawn from the price list")
    now = utcnow()
    price = await price_at(session, part.id, now)
    if price is None:
        raise Conflict(f"part {part.code} has no price in effect yet")
    others = {u.currency for u in await usages_of(session, order.id, include_voided=False)}
    if others and price.currency not in others:
        raise Conflict(f"{order.number} is priced in {', '.join(sorted(others))}; part "
                       f"{part.code} is priced in {price.currency}")
    use = PartUsage(work_order_pk=order.id, part_pk=part.id, quantity=body.quantity,
                    unit_price=price.unit_price, currency=price.currency,
                    amount=quantize(price.unit_price * body.quantity), used_at=now,
                    recorded_by=actor.name)
    use.part = part
    session.add(use)
    order.updated_at = now  # a change of the order: bump its version
    await session.flush()
    return use


async def void_part_use(session: AsyncSession, *, actor: Actor, order_pk: int, use_pk: int,
                        body: VoidUseBody) -> PartUsage:
    order = await _assignee_order(session, actor=actor, order_pk=order_pk, version=body.version,
                                  what="void a part used",
                                  states=frozenset({WorkOrderState.ON_SITE}))
    use = await session.get(PartUsage, use_pk)
    if use is None or use.work_order_pk != order.id:
        raise NotFound(f"{order.number} has no part line {use_pk}")
    if use.voided_at is not None:
        raise Conflict(f"part line {use_pk} was already voided")
    now = utcnow()
    use.voided_at, use.voided_by, use.void_reason = now, actor.name, body.reason
    order.updated_at = now
    await session.flush()
    return use


@dataclass(frozen=True, slots=True)
class Assessment:
    """What a repair costs, on a given day."""

    terminal: Terminal | None
    installed_on: date | None
    warranty_until: date | None
    in_warranty: bool
    lines: list[PartUsage]
    parts_value: Decimal
    total: Decimal
    currency: str


async def repaired_terminal(session: AsyncSession, order: WorkOrder) -> Terminal | None:
    """The terminal the repair was for: the one swapped out, if the order swapped it."""
    for swap in await bindings.swaps(session, work_order_pk=order.id):
        if swap.kind is SwapKind.TERMINAL:
            return await terminal_by_id(session, swap.old_ref)
    return order.terminal


async def assess(session: AsyncSession, order: WorkOrder, *, on: date,
                 currency: str) -> Assessment:
    terminal = await repaired_terminal(session, order)
    installed_on = until = None
    in_warranty = False
    if terminal is not None:
        status = await warranty_status(session, terminal, on=on)
        installed_on, until, in_warranty = status.installed_on, status.until, status.in_warranty
    lines = await usages_of(session, order.id, include_voided=False)
    parts_value = quantize(sum((u.amount for u in lines), ZERO))
    return Assessment(terminal=terminal, installed_on=installed_on, warranty_until=until,
                      in_warranty=in_warranty, lines=lines, parts_value=parts_value,
                      total=ZERO if in_warranty else parts_value,
                      currency=lines[0].currency if lines else currency)


async def charge_of(session: AsyncSession, order_pk: int) -> RepairCharge | None:
    return (await session.execute(
        sa.select(RepairCharge).where(RepairCharge.work_order_pk == order_pk)
    )).scalars().first()


async def make_charge(session: AsyncSession, *, order: WorkOrder, at: datetime,
                      currency: str) -> RepairCharge:
    """Fix the repair's charge (called by the ``complete`` transition)."""
    if await charge_of(session, order.id) is not None:
        raise Conflict(f"{order.number} was already charged")
    found = await assess(session, order, on=at.date(), currency=currency)
    charge = RepairCharge(
        work_order_pk=order.id, customer_pk=order.customer_pk, technician_pk=order.assignee_pk,
        charged_at=at, terminal_ref=found.terminal.terminal_id if found.terminal else None,
        installed_on=found.installed_on, warranty_until=found.warranty_until,
        in_warranty=found.in_warranty, parts_value=found.parts_value, total=found.total,
        currency=found.currency,
        state=ChargeState.DUE if found.total > 0 else ChargeState.NO_CHARGE,
    )
    session.add(charge)
    await session.flush()
    return charge


async def record_payment(session: AsyncSession, *, actor: Actor, order_pk: int,
                         body: PaymentBody) -> RepairCharge:
    """The assigned technician records what the customer paid on site: the whole charge,
    how, and the invoice number written for it."""
    order = await get_order(session, order_pk, actor=actor)
    if not actor.is_system and (actor.role is not Role.TECHNICIAN
                                or order.assignee_pk != actor.user_pk):
        raise PermissionDenied(f"only the technician assigned to {order.number} may record "
                               "its payment")
    charge = await charge_of(session, order.id)
    if charge is None:
        raise Conflict(f"{order.number} has no charge yet: it is made when the repair "
                       "completes")
    check_version(charge, body.version, f"the charge of {order.number}")
    reasons = []
    if charge.state is not ChargeState.DUE:
        reasons.append(Reason("charge_not_due", f"its charge is {charge.state.value}, not due",
                              charge_state=charge.state.value))
    elif body.amount != charge.total:
        reasons.append(Reason("amount_differs", f"the amount {quantize(body.amount)} differs "
                              f"from the charge {charge.total} {charge.currency}",
                              amount=str(quantize(body.amount)), total=str(charge.total),
                              currency=charge.currency))
    if reasons:
        raise Refused(what=f"the charge of {order.number}", action="record a payment for",
                      reasons=reasons)
    clash = (await session.execute(
        sa.select(RepairCharge.work_order_pk).where(
            RepairCharge.invoice_number == body.invoice_number)
    )).scalar_one_or_none()
    if clash is not None:
        raise Conflict(f"invoice number {body.invoice_number} is already recorded "
                       f"(work order id {clash})")
    charge.amount, charge.method, charge.invoice_number = (quantize(body.amount), body.method,
                                                           body.invoice_number)
    charge.collected_at, charge.collected_by_pk, charge.collected_by = (
        utcnow(), actor.user_pk, actor.name)
    charge.state = ChargeState.COLLECTED
    await session.flush()
    return charge


async def confirm_receipt(session: AsyncSession, *, actor: Actor, charge_pk: int,
                          body: ConfirmBody) -> RepairCharge:
    """Finance confirms the money collected on site arrived."""
    charge = await get_or_404(session, RepairCharge, charge_pk, "charge")
    check_version(charge, body.version, f"charge {charge.id}")
    if charge.state is not ChargeState.COLLECTED:
        raise Refused(what=f"charge {charge.id}", action="confirm", reasons=[
            Reason("not_collected", f"it is {charge.state.value}; only a collected payment can "
                   "be confirmed", charge_state=charge.state.value)])
    charge.confirmed_at, charge.confirmed_by_pk, charge.confirmed_by = (
        utcnow(), actor.user_pk, actor.name)
    charge.confirmation_note = body.note
    charge.state = ChargeState.CONFIRMED
    await session.flush()
    return charge


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeFilter:
    states: frozenset[ChargeState] = frozenset()
    customer_pk: int | None = None
    technician_pk: int | None = None
    charged_from: datetime | None = None
    charged_to: datetime | None = None


def _filtered(stmt: sa.Select, f: ChargeFilter) -> sa.Select:
    if f.states:
        stmt = stmt.where(RepairCharge.state.in_(f.states))
    if f.customer_pk is not None:
        stmt = stmt.where(RepairCharge.customer_pk == f.customer_pk)
    if f.technician_pk is not None:
        stmt = stmt.where(RepairCharge.technician_pk == f.technician_pk)
    if f.charged_from is not None:
        stmt = stmt.where(RepairCharge.charged_at >= f.charged_from)
    if f.charged_to is not None:
        stmt = stmt.where(RepairCharge.charged_at < f.charged_to)
    return stmt


async def list_charges(session: AsyncSession, *, filters: ChargeFilter, limit: int,
                       offset: int) -> Page[RepairCharge]:
    stmt = _filtered(sa.select(RepairCharge), filters).order_by(RepairCharge.charged_at.desc(),
                                                                RepairCharge.id.desc())
    return await paginate(session, stmt, limit=limit, offset=offset)


async def order_numbers(session: AsyncSession, order_pks: list[int]) -> dict[int, str]:
    if not order_pks:
        return {}
    rows = await session.execute(sa.select(WorkOrder.id, WorkOrder.number)
                                 .where(WorkOrder.id.in_(order_pks)))
    return dict(rows.all())


async def billing_report(session: AsyncSession, *, charged_from: datetime | None,
                         charged_to: datetime | None) -> list[CurrencyTotals]:
    """Per currency, over the charges made in the period: charged, collected, confirmed, and
    what is still uncollected or awaiting finance's confirmation. Sums are done by the
    database on exact columns."""
    stmt = _filtered(
        sa.select(RepairCharge.currency, RepairCharge.state, sa.func.count(),
                  sa.func.sum(RepairCharge.total), sa.func.sum(RepairCharge.amount)),
        ChargeFilter(charged_from=charged_from, charged_to=charged_to),
    ).group_by(RepairCharge.currency, RepairCharge.state)
    by_currency: dict[str, dict[ChargeState, tuple[int, Decimal, Decimal]]] = {}
    for currency, state, count, total, amount in (await session.execute(stmt)):
        by_currency.setdefault(currency, {})[ChargeState(state)] = (
            int(count), total or ZERO, amount or ZERO)
    out = []
    for currency, states in sorted(by_currency.items()):
        collected = _sum(states, ChargeState.COLLECTED, 2) + _sum(states, ChargeState.CONFIRMED, 2)
        confirmed = _sum(states, ChargeState.CONFIRMED, 2)
        out.append(CurrencyTotals(
            currency=currency, charges=sum(row[0] for row in states.values()),
            free=states.get(ChargeState.NO_CHARGE, (0, ZERO, ZERO))[0],
            charged=quantize(sum((row[1] for row in states.values()), ZERO)),
            collected=quantize(collected), confirmed=quantize(confirmed),
            uncollected=quantize(_sum(states, ChargeState.DUE, 1)),
            awaiting_confirmation=quantize(collected - confirmed),
        ))
    return out


def _sum(states: dict[ChargeState, tuple[int, Decimal, Decimal]], state: ChargeState,
         index: int) -> Decimal:
    row = states.get(state)
    return Decimal(row[index]) if row else ZERO
