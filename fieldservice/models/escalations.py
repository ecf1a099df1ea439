"""External contractors, staff affiliations, and escalations of work orders to the manager.

A user with no affiliation row belongs to the service department (internal staff). A row
names either another department or a contractor: that user's work on an order needs an
escalation the manager approved for that order.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import enum_column
from fieldservice.models.people import User


class Contractor(Audited, Timestamped, Versioned, Base):
    __tablename__ = "contractors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    zones: Mapped[list[str]] = mapped_column(default=list)
    skills: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)


class StaffAffiliation(Audited, Timestamped, Versioned, Base):
    """Where a user works when it is not the service department."""

    __tablename__ = "staff_affiliations"
    __table_args__ = (
        sa.CheckConstraint("(department IS NULL) <> (contractor_pk IS NULL)",
                           name="staff_affiliations_one_kind_ck"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_pk: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    department: Mapped[str | None] = mapped_column(sa.String(64))
    contractor_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("contractors.id"))

    user: Mapped[User] = relationship(lazy="selectin")
    contractor: Mapped[Contractor | None] = relationship(lazy="selectin")


class EscalationReason(enum.StrEnum):
    NO_FREE_TECHNICIAN = "no_free_technician"
    RESPONSE_OVERDUE = "response_overdue"
    RESOLUTION_OVERDUE = "resolution_overdue"
    MANUAL = "manual"  #: raised by the office


class EscalationState(enum.StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class EscalationDecision(enum.StrEnum):
    CONTRACTOR = "contractor"  #: assign to an external contractor's technician
    OTHER_DEPARTMENT = "other_department"  #: borrow another department's field staff
    INTERNAL = "internal"  #: keep it with the service department (note: why, what next)


class Escalation(Audited, Timestamped, Versioned, Base):
    """A work order brought to the manager: why, when, by whom, and what he decided.

    Automatic reasons escalate an order once each (a unique index on order and reason);
    manual escalations may repeat, one open at a time.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        sa.Index("escalations_order_reason_uq", "work_order_pk", "reason", unique=True,
                 postgresql_where=sa.text("reason <> 'manual'"),
                 sqlite_where=sa.text("reason <> 'manual'")),
        sa.Index("escalations_open_manual_uq", "work_order_pk", unique=True,
                 postgresql_where=sa.text("reason = 'manual' AND state = 'open'"),
                 sqlite_where=sa.text("reason = 'manual' AND state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"))
    reason: Mapped[EscalationReason] = mapped_column(enum_column(EscalationReason, 24))
    detail: Mapped[str] = mapped_column(sa.Text)
    raised_at: Mapped[datetime]
    raised_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    raised_by: Mapped[str] = mapped_column(sa.String(64))
    #: the deadline that passed (overdue reasons)
    deadline: Mapped[datetime | None]
    state: Mapped[EscalationState] = mapped_column(enum_column(EscalationState, 16),
                                                   default=EscalationState.OPEN)
    decision: Mapped[EscalationDecision | None] = mapped_column(
        enum_column(EscalationDecision, 24))
    contractor_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("contractors.id"))
    #: the user the order was assigned to by the decision
    assignee_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decided_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_by: Mapped[str | None] = mapped_column(sa.String(64))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)

    contractor: Mapped[Contractor | None] = relationship(lazy="selectin")
    assignee: Mapped[User | None] = relationship(lazy="selectin", foreign_keys=[assignee_pk])
