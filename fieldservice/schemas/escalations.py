"""Contractors, staff affiliations, escalations, SLA status."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from fieldservice.models.escalations import (
    Contractor,
    Escalation,
    EscalationDecision,
    EscalationReason,
    EscalationState,
    StaffAffiliation,
)
from fieldservice.schemas.common import Body, Id, Name, Phone, Public, Tag, Text, UpdateBody


class ContractorCreate(Body):
    name: Name
    contact_name: Name | None = None
    phone: Phone | None = None
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    zones: list[Tag] = Field(default_factory=list, max_length=50)
    skills: list[Tag] = Field(default_factory=list, max_length=50)
    notes: Text | None = None


class ContractorUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"name", "zones", "skills", "active"})

    name: Name | None = None
    contact_name: Name | None = None
    phone: Phone | None = None
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    zones: list[Tag] | None = Field(default=None, max_length=50)
    skills: list[Tag] | None = Field(default=None, max_length=50)
    notes: Text | None = None
    active: bool | None = None


class ContractorPublic(Public):
    id: int
    name: str
    contact_name: str | None
    phone: str | None
    email: str | None
    zones: list[str]
    skills: list[str]
    notes: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, c: Contractor) -> ContractorPublic:
        return cls.model_validate(c)


class AffiliationBody(Body):
    """Exactly one of ``department`` (another department than the service department) and
    ``contractor_id``. ``version`` is required when the user has an affiliation already."""

    version: int | None = Field(default=None, ge=1)
    department: Name | None = Field(default=None, max_length=64)
    contractor_id: Id | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AffiliationBody:
        if (self.department is None) == (self.contractor_id is None):
            raise PydanticCustomError("one_of", "give exactly one of {first} and {second}",
                                     {"first": "department", "second": "contractor_id"})
        return self


class AffiliationPublic(Public):
    user_id: int
    username: str
    role: str
    department: str | None
    contractor_id: int | None
    contractor_name: str | None
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, a: StaffAffiliation) -> AffiliationPublic:
        return cls(user_id=a.user_pk, username=a.user.username, role=a.user.role.value,
                   department=a.department, contractor_id=a.contractor_pk,
                   contractor_name=a.contractor.name if a.contractor else None,
                   updated_at=a.updated_at, version=a.version)


class EscalationCreate(Body):
    """The office escalates an order by hand (reason ``manual``)."""

    work_order_id: Id
    detail: Text


class DecisionBody(Body):
    """The manager's decision. ``contractor``: ``contractor_id`` and ``assignee_id`` (one of
    the contractor's technicians); ``other_department``: ``assignee_id`` (staff of another
    department); ``internal``: a ``note`` saying why and what happens next."""

    version: int = Field(ge=1, description="the escalation's version as last read")
    decision: EscalationDecision
    contractor_id: Id | None = None
    assignee_id: Id | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _complete(self) -> DecisionBody:
        needs = {EscalationDecision.CONTRACTOR: ("contractor_id", "assignee_id"),
                 EscalationDecision.OTHER_DEPARTMENT: ("assignee_id",),
                 EscalationDecision.INTERNAL: ("note",)}[self.decision]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise PydanticCustomError("decision_needs", "decision {decision} needs {fields}",
                                     {"decision": self.decision.value,
                                      "fields": " and ".join(missing)})
        if self.decision is not EscalationDecision.CONTRACTOR and self.contractor_id is not None:
            raise PydanticCustomError("contractor_only",
                                     "contractor_id goes with decision contractor only")
        if self.decision is EscalationDecision.INTERNAL and self.assignee_id is not None:
            raise PydanticCustomError(
                "internal_assigns_nobody",
                "decision internal assigns nobody: reassign through the order")
        return self


class EscalationPublic(Public):
    id: int
    work_order_id: int
    work_order_number: str
    priority: str
    order_state: str
    reason: EscalationReason
    detail: str
    deadline: datetime | None
    raised_at: datetime
    raised_by: str
    state: EscalationState
    decision: EscalationDecision | None
    contractor_id: int | None
    contractor_name: str | None
    assignee_id: int | None
    assignee_username: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    version: int

    @classmethod
    def of(cls, e: Escalation, *, number: str, priority: str,
           order_state: str) -> EscalationPublic:
        return cls(
            id=e.id, work_order_id=e.work_order_pk, work_order_number=number, priority=priority,
            order_state=order_state, reason=e.reason, detail=e.detail, deadline=e.deadline,
            raised_at=e.raised_at, raised_by=e.raised_by, state=e.state, decision=e.decision,
            contractor_id=e.contractor_pk,
            contractor_name=e.contractor.name if e.contractor else None,
            assignee_id=e.assignee_pk,
            assignee_username=e.assignee.username if e.assignee else None,
            decided_at=e.decided_at, decided_by=e.decided_by, decision_note=e.decision_note,
            version=e.version,
        )


class SlaPublic(Public):
    """An order's deadlines for its priority (FIELDGATE_SLA_*), and whether they were met.

    Response: someone on the way (the order went ``en_route``). Resolution: the work completed.
    """

    work_order_id: int
    priority: str
    created_at: datetime
    response_due: datetime | None
    responded_at: datetime | None
    response_overdue: bool
    resolution_due: datetime | None
    resolved_at: datetime | None
    resolution_overdue: bool


class SweepPublic(Public):
    ran: bool
    #: "WO-2026-000012: response_overdue", ...
    escalated: list[str]
