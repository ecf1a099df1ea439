"""Parts and prices, parts used on orders, repair charges and payments, the billing report.

Amounts go in as decimal strings (``"12.50"``) or integers and come out as decimal strings with
two places: never through a binary float (see :mod:`fieldservice.money`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from fieldservice.models.billing import (
    ChargeState,
    Part,
    PartPrice,
    PartUsage,
    PaymentMethod,
    RepairCharge,
)
from fieldservice.money import Amount, MoneyOut
from fieldservice.schemas.common import Body, Name, Public, Text, UpdateBody

PartCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,40}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
InvoiceNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./-]{1,64}$")]


class PartCreate(Body):
    code: PartCode
    name: Name
    unit_price: Amount
    #: default: the service's currency (FIELDGATE_CURRENCY)
    currency: Currency | None = None
    notes: Text | None = None


class PartUpdate(UpdateBody):
    """Name, notes and active only: the code identifies the part, prices have their own
    history (POST .../prices)."""

    not_nullable: ClassVar[frozenset[str]] = frozenset({"name", "active"})

    name: Name | None = None
    notes: Text | None = None
    active: bool | None = None


class PriceCreate(Body):
    version: int = Field(ge=1, description="the part's version as last read")
    unit_price: Amount
    #: when the price takes effect: now (default) or later, never in the past
    effective_from: datetime | None = None
    note: Text | None = None


class PricePublic(Public):
    id: int
    part_id: int
    unit_price: MoneyOut
    currency: str
    effective_from: datetime
    set_at: datetime
    set_by: str
    note: str | None

    @classmethod
    def of(cls, price: PartPrice) -> PricePublic:
        return cls(id=price.id, part_id=price.part_pk, unit_price=price.unit_price,
                   currency=price.currency, effective_from=price.effective_from,
                   set_at=price.set_at, set_by=price.set_by, note=price.note)


class PartPublic(Public):
    id: int
    code: str
    name: str
    currency: str
    active: bool
    notes: str | None
    #: the price in effect now (None: no price in effect yet)
    unit_price: MoneyOut | None
    price_since: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, part: Part, price: PartPrice | None) -> PartPublic:
        return cls(id=part.id, code=part.code, name=part.name, currency=part.currency,
                   active=part.active, notes=part.notes,
                   unit_price=price.unit_price if price else None,
                   price_since=price.effective_from if price else None,
                   created_at=part.created_at, updated_at=part.updated_at,
                   version=part.version)


class PartUseBody(Body):
    version: int = Field(ge=1, description="the work order's version as last read")
    part_code: PartCode
    quantity: int = Field(default=1, ge=1, le=1000)


class VoidUseBody(Body):
    version: int = Field(ge=1, description="the work order's version as last read")
    reason: Text


class PartUsePublic(Public):
    id: int
    work_order_id: int
    part_id: int
    part_code: str
    part_name: str
    quantity: int
    unit_price: MoneyOut
    amount: MoneyOut
    currency: str
    used_at: datetime
    recorded_by: str
    voided: bool
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str | None

    @classmethod
    def of(cls, use: PartUsage) -> PartUsePublic:
        return cls(id=use.id, work_order_id=use.work_order_pk, part_id=use.part_pk,
                   part_code=use.part.code, part_name=use.part.name, quantity=use.quantity,
                   unit_price=use.unit_price, amount=use.amount, currency=use.currency,
                   used_at=use.used_at, recorded_by=use.recorded_by,
                   voided=use.voided_at is not None, voided_at=use.voided_at,
                   voided_by=use.voided_by, void_reason=use.void_reason)


class PaymentBody(Body):
    version: int = Field(ge=1, description="the charge's version as last read")
    amount: Amount
    method: PaymentMethod
    invoice_number: InvoiceNumber


class ConfirmBody(Body):
    version: int = Field(ge=1, description="the charge's version as last read")
    note: Text | None = None


class ChargePublic(Public):
    """A repair's charge. ``state`` is ``quote`` while the repair is not completed: what the
    customer would pay if it completed now."""

    id: int | None
    work_order_id: int
    work_order_number: str
    customer_id: int
    technician_id: int | None
    state: ChargeState | Literal["quote"]
    charged_at: datetime | None
    terminal_id: str | None
    installed_on: date | None
    warranty_until: date | None
    in_warranty: bool
    parts_value: MoneyOut
    total: MoneyOut
    currency: str
    lines: list[PartUsePublic]
    amount: MoneyOut | None = None
    method: PaymentMethod | None = None
    invoice_number: str | None = None
    collected_at: datetime | None = None
    collected_by: str | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    confirmation_note: str | None = None
    version: int | None = None

    @classmethod
    def of(cls, charge: RepairCharge, *, number: str,
           lines: list[PartUsage]) -> ChargePublic:
        return cls(
            id=charge.id, work_order_id=charge.work_order_pk, work_order_number=number,
            customer_id=charge.customer_pk, technician_id=charge.technician_pk,
            state=charge.state, charged_at=charge.charged_at, terminal_id=charge.terminal_ref,
            installed_on=charge.installed_on, warranty_until=charge.warranty_until,
            in_warranty=charge.in_warranty, parts_value=charge.parts_value,
            total=charge.total, currency=charge.currency,
            lines=[PartUsePublic.of(u) for u in lines], amount=charge.amount,
            method=charge.method, invoice_number=charge.invoice_number,
            collected_at=charge.collected_at, collected_by=charge.collected_by,
            confirmed_at=charge.confirmed_at, confirmed_by=charge.confirmed_by,
            confirmation_note=charge.confirmation_note, version=charge.version,
        )


class CurrencyTotals(Public):
    currency: str
    #: charges made in the period
    charges: int
    #: of which free (in warranty, or nothing to pay)
    free: int
    charged: MoneyOut
    #: recorded as collected on site
    collected: MoneyOut
    #: confirmed by finance
    confirmed: MoneyOut
    #: charged but not collected yet (owed by customers)
    uncollected: MoneyOut
    #: collected but not confirmed yet (money still with the technicians)
    awaiting_confirmation: MoneyOut


class BillingReport(Public):
    period_from: datetime | None
    period_to: datetime | None
    currencies: list[CurrencyTotals]

