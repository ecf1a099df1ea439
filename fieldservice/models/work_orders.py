"""Work orders, their transition history, and the install requests that spawn them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import (
    Priority,
    Source,
    WorkOrderState,
    WorkOrderType,
    enum_column,
)
from fieldservice.models.fleet import Terminal, Vehicle
from fieldservice.models.people import Customer, User


class InstallRequest(Audited, Timestamped, Versioned, Base):
    """A customer's request to equip a list of vehicles; one install order per vehicle."""

    __tablename__ = "install_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_pk: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    address: Mapped[str | None] = mapped_column(sa.Text)
    requested_date: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    created_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the manager's decision on the request as a whole (orders may also be decided one by one)
    decision: Mapped[str | None] = mapped_column(sa.String(16))
    decided_at: Mapped[datetime | None]
    decided_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)

    customer: Mapped[Customer] = relationship(lazy="selectin")


class WorkOrder(Audited, Timestamped, Versioned, Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    type: Mapped[WorkOrderType] = mapped_column(enum_column(WorkOrderType, 16))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, 16), default=Priority.NORMAL)
    source: Mapped[Source] = mapped_column(enum_column(Source, 24))
    state: Mapped[WorkOrderState] = mapped_column(enum_column(WorkOrderState, 24),
                                                  default=WorkOrderState.NEW)
    state_changed_at: Mapped[datetime]

    customer_pk: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    vehicle_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("vehicles.id"))
    terminal_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("terminals.id"))
    assignee_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    install_request_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("install_requests.id"))
    created_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    description: Mapped[str | None] = mapped_column(sa.Text)
    address: Mapped[str | None] = mapped_column(sa.Text)
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    scheduled_for: Mapped[datetime | None]

    # repair: what the customer reports, and what the health rules suggest (issue 4)
    terminal_model: Mapped[str | None] = mapped_column(sa.String(64))
    purchase_date: Mapped[date | None]
    symptoms: Mapped[str | None] = mapped_column(sa.Text)
    suggested_action: Mapped[str | None] = mapped_column(sa.Text)

    # before leaving: item -> checked; confirmed once every required item is checked
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checklist_confirmed_at: Mapped[datetime | None]

    # on site
    diagnosis: Mapped[str | None] = mapped_column(sa.Text)
    actions_taken: Mapped[str | None] = mapped_column(sa.Text)
    #: install: when the terminal and SIM were registered on the vehicle
    registered_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(lazy="selectin")
    vehicle: Mapped[Vehicle | None] = relationship(lazy="selectin")
    terminal: Mapped[Terminal | None] = relationship(lazy="selectin")
    assignee: Mapped[User | None] = relationship(lazy="selectin",
                                                 foreign_keys=[assignee_pk])

    def __str__(self) -> str:
        return self.number


class WorkOrderTransition(Audited, Base):
    """One state change of a work order: who, when, from, to, why."""

    __tablename__ = "work_order_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str] = mapped_column(sa.String(24))
    to_state: Mapped[str] = mapped_column(sa.String(24))
    at: Mapped[datetime]
    actor_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
