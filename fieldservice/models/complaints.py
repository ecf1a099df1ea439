"""Customer complaints: owned by whoever first received them, until closed."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import enum_column
from fieldservice.models.people import Customer, User


class ComplaintChannel(enum.StrEnum):
    PHONE = "phone"
    LETTER = "letter"
    VISIT = "visit"
    EMAIL = "email"


class ComplaintCause(enum.StrEnum):
    """What the complaint turned out to be about (the quarterly report groups by it)."""

    DEVICE_FAULT = "device_fault"
    INSTALLATION = "installation"
    SERVICE_DELAY = "service_delay"
    STAFF_CONDUCT = "staff_conduct"
    BILLING = "billing"
    PLATFORM = "platform"  #: the tracking platform or its data
    OTHER = "other"


class ComplaintState(enum.StrEnum):
    OPEN = "open"
    HANDED_OVER = "handed_over"  #: with the responsible department, still owned by its owner
    CLOSED = "closed"


class Complaint(Audited, Timestamped, Versioned, Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    customer_pk: Mapped[int] = mapped_column(sa.ForeignKey("customers.id"))
    channel: Mapped[ComplaintChannel] = mapped_column(enum_column(ComplaintChannel, 16))
    received_at: Mapped[datetime]
    #: the first responder: set at creation from the creator, never changed
    owner_pk: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    complainant: Mapped[str | None] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[ComplaintState] = mapped_column(enum_column(ComplaintState, 16),
                                                  default=ComplaintState.OPEN)
    cause: Mapped[ComplaintCause | None] = mapped_column(enum_column(ComplaintCause, 24))
    corrective_action: Mapped[str | None] = mapped_column(sa.Text)
    #: the department the complaint was handed to (it stays with its owner)
    department: Mapped[str | None] = mapped_column(sa.String(64))
    handed_over_at: Mapped[datetime | None]
    handed_over_by: Mapped[str | None] = mapped_column(sa.String(64))
    # the reply to the customer (required before closing)
    reply: Mapped[str | None] = mapped_column(sa.Text)
    reply_channel: Mapped[ComplaintChannel | None] = mapped_column(
        enum_column(ComplaintChannel, 16))
    replied_at: Mapped[datetime | None]
    replied_by: Mapped[str | None] = mapped_column(sa.String(64))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(64))

    customer: Mapped[Customer] = relationship(lazy="selectin")
    owner: Mapped[User] = relationship(lazy="selectin", foreign_keys=[owner_pk])


class ComplaintWorkOrder(Audited, Base):
    """A work order a complaint is about, or that was opened because of it."""

    __tablename__ = "complaint_work_orders"
    __table_args__ = (sa.UniqueConstraint("complaint_pk", "work_order_pk",
                                          name="complaint_work_orders_uq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_pk: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"))
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"))
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(sa.String(64))
