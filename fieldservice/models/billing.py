"""Parts, their price history, parts used on repair orders, and the charge of each repair.

Prices are never overwritten: a new price is a new ``part_prices`` row with the instant it takes
effect, and the price of a part at time T is the row with the latest ``effective_from`` <= T.
A part used on an order keeps the unit price it had when it was used, so later price changes
never alter a repair already done. One ``repair_charges`` row per repair order (a unique key),
one invoice number per charge (another): nothing is billed twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import enum_column
from fieldservice.money import MoneyColumn


class Part(Audited, Timestamped, Versioned, Base):
    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3))
    active: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)


class PartPrice(Audited, Base):
    """A part's unit price from ``effective_from`` until the next row's."""

    __tablename__ = "part_prices"
    __table_args__ = (sa.UniqueConstraint("part_pk", "effective_from",
                                          name="part_prices_part_from_uq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    part_pk: Mapped[int] = mapped_column(sa.ForeignKey("parts.id"))
    unit_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    currency: Mapped[str] = mapped_column(sa.String(3))
    effective_from: Mapped[datetime]
    set_at: Mapped[datetime]
    set_by: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)


class PartUsage(Audited, Timestamped, Versioned, Base):
    """Parts used on a repair order, priced when used. A wrong line is voided, never deleted."""

    __tablename__ = "part_usages"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"))
    part_pk: Mapped[int] = mapped_column(sa.ForeignKey("parts.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(MoneyColumn())
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: quantity * unit_price
    amount: Mapped[Decimal] = mapped_column(MoneyColumn())
    used_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(sa.String(64))
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[str | None] = mapped_column(sa.String(64))
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    part: Mapped[Part] = relationship(lazy="selectin")


class ChargeState(enum.StrEnum):
    NO_CHARGE = "no_charge"  #: in warranty, or nothing to pay for
    DUE = "due"  #: the customer owes the total; nothing recorded yet
    COLLECTED = "collected"  #: the technician recorded the payment on site
    CONFIRMED = "confirmed"  #: finance confirmed the money arrived


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    MOBILE = "mobile"  #: a mobile wallet (WeChat Pay, Alipay...)


class RepairCharge(Audited, Timestamped, Versioned, Base):
    """What a repair costs the customer, fixed when the repair completes, and its payment."""

    __tablename__ = "repair_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), unique=True)
    customer_pk: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    #: the technician who did the repair (and collects on site)
    technician_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    charged_at: Mapped[datetime]
    #: the terminal whose warranty was looked at (the one the repair was for)
    terminal_ref: Mapped[str | None] = mapped_column(sa.String(64))
    installed_on: Mapped[date | None]
    warranty_until: Mapped[date | None]
    in_warranty: Mapped[bool]
    #: value of the parts used, whatever the warranty says
    parts_value: Mapped[Decimal] = mapped_column(MoneyColumn())
    #: what the customer pays: 0 in warranty, else the parts (labour is free)
    total: Mapped[Decimal] = mapped_column(MoneyColumn())
    currency: Mapped[str] = mapped_column(sa.String(3))
    state: Mapped[ChargeState] = mapped_column(enum_column(ChargeState, 16))

    # collected on site by the technician
    amount: Mapped[Decimal | None] = mapped_column(MoneyColumn())
    method: Mapped[PaymentMethod | None] = mapped_column(enum_column(PaymentMethod, 16))
    invoice_number: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    collected_at: Mapped[datetime | None]
    collected_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    collected_by: Mapped[str | None] = mapped_column(sa.String(64))

    # finance's confirmation that the money arrived
    confirmed_at: Mapped[datetime | None]
    confirmed_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(64))
    confirmation_note: Mapped[str | None] = mapped_column(sa.Text)
