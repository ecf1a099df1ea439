"""Vehicles, terminals, SIM cards, and the time-bounded bindings between them.

A binding row is open while ``valid_to`` is NULL; swaps close one row and open another in the
same transaction, so the bindings are the history ("which SIM was in this vehicle's terminal
on 3 March?"). Partial unique indexes allow one open binding per terminal, vehicle and SIM.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import SimState, SwapKind, TerminalState, enum_column
from fieldservice.models.people import Customer
from fieldservice.timestamps import utcnow


class Vehicle(Audited, Timestamped, Versioned, Base):
    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_pk: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    plate: Mapped[str] = mapped_column(sa.String(20), unique=True)
    vin: Mapped[str | None] = mapped_column(sa.String(17))
    model: Mapped[str | None] = mapped_column(sa.String(100))
    driver_name: Mapped[str | None] = mapped_column(sa.String(200))
    driver_phone: Mapped[str | None] = mapped_column(sa.String(32))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)

    customer: Mapped[Customer] = relationship(lazy="selectin")


class Terminal(Audited, Timestamped, Versioned, Base):
    """A GPS terminal (table from migration 0001, shared with the gateway's registry)."""

    __tablename__ = "terminals"

    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    model: Mapped[str | None] = mapped_column(sa.String(64))
    firmware: Mapped[str | None] = mapped_column(sa.String(64))
    purchase_date: Mapped[date | None]
    warranty_months: Mapped[int] = mapped_column(default=12)
    state: Mapped[TerminalState] = mapped_column(enum_column(TerminalState, 16),
                                                 default=TerminalState.IN_STOCK)
    report_interval_s: Mapped[int | None]
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    #: written when the terminal is swapped out as faulty: plate, symptom, date
    fault_label: Mapped[str | None] = mapped_column(sa.Text)


class Sim(Audited, Timestamped, Versioned, Base):
    __tablename__ = "sims"

    id: Mapped[int] = mapped_column(primary_key=True)
    iccid: Mapped[str] = mapped_column(sa.String(22), unique=True)
    msisdn: Mapped[str | None] = mapped_column(sa.String(20))
    carrier: Mapped[str | None] = mapped_column(sa.String(64))
    state: Mapped[SimState] = mapped_column(enum_column(SimState, 16), default=SimState.IN_STOCK)
    notes: Mapped[str | None] = mapped_column(sa.Text)


class TerminalSim(Audited, Base):
    """SIM in terminal, from ``valid_from`` until ``valid_to`` (NULL: still there)."""

    __tablename__ = "terminal_sims"

    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_pk: Mapped[int] = mapped_column(sa.ForeignKey("terminals.id"))
    sim_pk: Mapped[int] = mapped_column(sa.ForeignKey("sims.id"))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    work_order_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"))

    terminal: Mapped[Terminal] = relationship(lazy="selectin")
    sim: Mapped[Sim] = relationship(lazy="selectin")


class TerminalVehicle(Audited, Base):
    """Terminal installed in vehicle, from ``valid_from`` until ``valid_to``.

    ``installed_on`` is the install date the terminal's warranty runs from.
    """

    __tablename__ = "terminal_vehicles"

    id: Mapped[int] = mapped_column(primary_key=True)
    terminal_pk: Mapped[int] = mapped_column(sa.ForeignKey("terminals.id"))
    vehicle_pk: Mapped[int] = mapped_column(sa.ForeignKey("vehicles.id"))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    installed_on: Mapped[date]
    created_by: Mapped[str | None] = mapped_column(sa.String(64))
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))
    work_order_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"))

    terminal: Mapped[Terminal] = relationship(lazy="selectin")
    vehicle: Mapped[Vehicle] = relationship(lazy="selectin")


class HardwareSwap(Audited, Base):
    """One terminal or SIM swap done on a repair order: what went out, what went in, why."""

    __tablename__ = "hardware_swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"))
    vehicle_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("vehicles.id"))
    #: the terminal that carries the new hardware (the new terminal, or the one whose SIM changed)
    terminal_pk: Mapped[int] = mapped_column(sa.ForeignKey("terminals.id"))
    kind: Mapped[SwapKind] = mapped_column(enum_column(SwapKind, 16))
    old_ref: Mapped[str] = mapped_column(sa.String(64))  #: terminal id or ICCID taken out
    new_ref: Mapped[str] = mapped_column(sa.String(64))  #: terminal id or ICCID put in
    at: Mapped[datetime]
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.Text)
