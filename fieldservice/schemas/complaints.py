"""Complaints and their quarterly report."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from fieldservice.models.complaints import (
    Complaint,
    ComplaintCause,
    ComplaintChannel,
    ComplaintState,
)
from fieldservice.schemas.common import Body, Id, Name, Public, Text, UpdateBody


class ComplaintCreate(Body):
    """Whoever records the complaint owns it until it is closed."""

    customer_id: Id
    channel: ComplaintChannel
    subject: Name
    description: Text
    complainant: Name | None = None
    #: when it came in (default: now); a letter may be recorded days later
    received_at: datetime | None = None
    cause: ComplaintCause | None = None
    work_order_ids: list[Id] = Field(default_factory=list, max_length=50)


class ComplaintUpdate(UpdateBody):
    """The owner's working notes. Owner and state are not fields: ownership never moves, and
    the state changes through hand-over, reply and close."""

    not_nullable: ClassVar[frozenset[str]] = frozenset({"subject", "description"})

    subject: Name | None = None
    description: Text | None = None
    complainant: Name | None = None
    cause: ComplaintCause | None = None
    corrective_action: Text | None = None


class HandOverBody(Body):
    version: int = Field(ge=1, description="the complaint's version as last read")
    department: Name = Field(max_length=64)


class ReplyBody(Body):
    version: int = Field(ge=1, description="the complaint's version as last read")
    reply: Text
    channel: ComplaintChannel


class CloseBody(Body):
    version: int = Field(ge=1, description="the complaint's version as last read")


class LinkBody(Body):
    version: int = Field(ge=1, description="the complaint's version as last read")
    work_order_id: Id


class ComplaintPublic(Public):
    id: int
    number: str
    customer_id: int
    customer_company: str
    channel: ComplaintChannel
    received_at: datetime
    owner_id: int
    owner_username: str
    complainant: str | None
    subject: str
    description: str
    state: ComplaintState
    cause: ComplaintCause | None
    corrective_action: str | None
    department: str | None
    handed_over_at: datetime | None
    handed_over_by: str | None
    reply: str | None
    reply_channel: ComplaintChannel | None
    replied_at: datetime | None
    replied_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    work_order_ids: list[int]
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, c: Complaint, work_order_ids: list[int]) -> ComplaintPublic:
        return cls(
            id=c.id, number=c.number, customer_id=c.customer_pk,
            customer_company=c.customer.company, channel=c.channel, received_at=c.received_at,
            owner_id=c.owner_pk, owner_username=c.owner.username, complainant=c.complainant,
            subject=c.subject, description=c.description, state=c.state, cause=c.cause,
            corrective_action=c.corrective_action, department=c.department,
            handed_over_at=c.handed_over_at, handed_over_by=c.handed_over_by, reply=c.reply,
            reply_channel=c.reply_channel, replied_at=c.replied_at, replied_by=c.replied_by,
            closed_at=c.closed_at, closed_by=c.closed_by, work_order_ids=work_order_ids,
            created_at=c.created_at, updated_at=c.updated_at, version=c.version,
        )


class CorrectiveAction(Public):
    complaint: str
    action: str


class CauseGroup(Public):
    cause: str  #: a ComplaintCause value, or "unclassified"
    complaints: int
    closed: int
    open: int
    by_channel: dict[str, int]
    corrective_actions: list[CorrectiveAction]


class ComplaintReport(Public):
    year: int
    quarter: int
    period_from: datetime
    period_to: datetime
    total: int
    causes: list[CauseGroup]
