"""After the work: scheduled return visits (customer callbacks) and major fault reports."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import enum_column
from fieldservice.models.people import Customer


class VisitCadence(enum.StrEnum):
    MONTHLY = "monthly"  #: first year after the customer's first install
    QUARTERLY = "quarterly"  #: after that


class VisitState(enum.StrEnum):
    SCHEDULED = "scheduled"
    DONE = "done"


class ReturnVisit(Audited, Timestamped, Versioned, Base):
    """A scheduled callback to an installed customer; one per customer and due date."""

    __tablename__ = "return_visits"
    __table_args__ = (
        sa.UniqueConstraint("customer_pk", "due_on", name="return_visits_customer_due_uq"),
        sa.CheckConstraint("satisfaction IS NULL OR (satisfaction BETWEEN 1 AND 5)",
                           name="return_visits_satisfaction_ck"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_pk: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    due_on: Mapped[date]
    cadence: Mapped[VisitCadence] = mapped_column(enum_column(VisitCadence, 16))
    #: the install date the schedule counts from
    anchor_on: Mapped[date]
    state: Mapped[VisitState] = mapped_column(enum_column(VisitState, 16),
                                              default=VisitState.SCHEDULED)
    done_at: Mapped[datetime | None]
    done_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    done_by: Mapped[str | None] = mapped_column(sa.String(64))
    #: the technician the feedback is about (default: the customer's latest field work)
    technician_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    feedback: Mapped[str | None] = mapped_column(sa.Text)
    satisfaction: Mapped[int | None] = mapped_column(sa.SmallInteger)

    customer: Mapped[Customer] = relationship(lazy="selectin")


class FaultReportState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ANALYSED = "analysed"
    SENT = "sent"  #: the analysis went to the customer


class FaultReport(Audited, Timestamped, Versioned, Base):
    """A major fault: what happened, the handling plan, who was told; after resolution an
    analysis (impact, handling, root cause, corrective and preventive actions) for the
    customer."""

    __tablename__ = "fault_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    customer_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    work_order_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"))
    occurred_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(sa.Text)
    symptom: Mapped[str] = mapped_column(sa.Text)
    handling_plan: Mapped[str] = mapped_column(sa.Text)
    notified_people: Mapped[list[str]] = mapped_column(default=list)
    reported_by: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[FaultReportState] = mapped_column(enum_column(FaultReportState, 16),
                                                    default=FaultReportState.OPEN)
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    impact: Mapped[str | None] = mapped_column(sa.Text)
    handling: Mapped[str | None] = mapped_column(sa.Text)
    root_cause: Mapped[str | None] = mapped_column(sa.Text)
    corrective_actions: Mapped[str | None] = mapped_column(sa.Text)
    preventive_actions: Mapped[str | None] = mapped_column(sa.Text)
    analysed_at: Mapped[datetime | None]
    analysed_by: Mapped[str | None] = mapped_column(sa.String(64))
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[str | None] = mapped_column(sa.String(64))
    sent_to: Mapped[str | None] = mapped_column(sa.String(200))

    customer: Mapped[Customer | None] = relationship(lazy="selectin")
