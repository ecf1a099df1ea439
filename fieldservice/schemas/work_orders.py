"""Work orders, their transitions, field work bodies, install requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from fieldservice.models import (
    AuditEntry,
    InstallRequest,
    Priority,
    Source,
    WorkOrder,
    WorkOrderState,
    WorkOrderTransition,
    WorkOrderType,
)
from fieldservice.schemas.common import (
    Body,
    Iccid,
    Id,
    Msisdn,
    Name,
    Phone,
    Plate,
    Public,
    Refusal,
    TerminalId,
    Text,
    UpdateBody,
    Vin,
)


class WorkOrderCreate(Body):
    """A work order entered by the office. The customer may be left out when the vehicle or
    terminal tells who it is; address and contact default to the customer's."""

    type: WorkOrderType
    source: Source
    priority: Priority = Priority.NORMAL
    customer_id: Id | None = None
    vehicle_id: Id | None = None
    terminal_id: TerminalId | None = None
    description: Text | None = None
    address: Text | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    scheduled_for: datetime | None = None
    terminal_model: str | None = Field(default=None, max_length=64)
    purchase_date: date | None = None
    symptoms: Text | None = None
    suggested_action: Text | None = None


class WorkOrderUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"priority"})

    priority: Priority | None = None
    description: Text | None = None
    address: Text | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    scheduled_for: datetime | None = None
    terminal_model: str | None = Field(default=None, max_length=64)
    purchase_date: date | None = None
    symptoms: Text | None = None
    suggested_action: Text | None = None


class WorkOrderPublic(Public):
    id: int
    number: str
    type: WorkOrderType
    priority: Priority
    source: Source
    state: WorkOrderState
    state_changed_at: datetime
    customer_id: Id
    customer_company: str
    vehicle_id: int | None
    plate: str | None
    terminal_id: str | None
    assignee_id: int | None
    assignee_username: str | None
    install_request_id: int | None
    description: str | None
    address: str | None
    contact_name: str | None
    contact_phone: str | None
    scheduled_for: datetime | None
    terminal_model: str | None
    purchase_date: date | None
    symptoms: str | None
    suggested_action: str | None
    checklist: dict[str, Any]
    checklist_confirmed_at: datetime | None
    diagnosis: str | None
    actions_taken: str | None
    registered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, order: WorkOrder) -> WorkOrderPublic:
        return cls(
            id=order.id, number=order.number, type=order.type, priority=order.priority,
            source=order.source, state=order.state, state_changed_at=order.state_changed_at,
            customer_id=order.customer_pk, customer_company=order.customer.company,
            vehicle_id=order.vehicle_pk, plate=order.vehicle.plate if order.vehicle else None,
            terminal_id=order.terminal.terminal_id if order.terminal else None,
            assignee_id=order.assignee_pk,
            assignee_username=order.assignee.username if order.assignee else None,
            install_request_id=order.install_request_pk, description=order.description,
            address=order.address, contact_name=order.contact_name,
            contact_phone=order.contact_phone, scheduled_for=order.scheduled_for,
            terminal_model=order.terminal_model, purchase_date=order.purchase_date,
            symptoms=order.symptoms, suggested_action=order.suggested_action,
            checklist=order.checklist or {}, checklist_confirmed_at=order.checklist_confirmed_at,
            diagnosis=order.diagnosis, actions_taken=order.actions_taken,
            registered_at=order.registered_at, created_at=order.created_at,
            updated_at=order.updated_at, version=order.version,
        )


class TransitionPublic(Public):
    id: int
    action: str
    from_state: str
    to_state: str
    at: datetime
    actor_id: int | None
    actor_name: str
    note: str | None

    @classmethod
    def of(cls, t: WorkOrderTransition) -> TransitionPublic:
        return cls(id=t.id, action=t.action, from_state=t.from_state, to_state=t.to_state,
                   at=t.at, actor_id=t.actor_pk, actor_name=t.actor_name, note=t.note)


class ActionAvailability(Body):
    action: str
    target: str
    summary: str
    allowed: bool
    #: why not, when not allowed (role, assignment, state, guards)
    reasons: list[str]
    #: the same reasons with their codes, for clients that word them in their own language
    refusals: list[Refusal]


class FieldWorkBody(Body):
    version: int = Field(ge=1, description="the work order's version as last read")


class ChecklistBody(FieldWorkBody):
    tools: bool = False
    spare_terminals: bool = False
    sims: bool = False
    documents: bool = False
    notes: Text | None = None


class ReportBody(FieldWorkBody):
    diagnosis: Text | None = None
    actions_taken: Text | None = None


class RegisterTerminalBody(FieldWorkBody):
    """Install on site: the terminal and SIM now fitted to the order's vehicle."""

    terminal_id: TerminalId
    iccid: Iccid
    model: str | None = Field(default=None, max_length=64)
    firmware: str | None = Field(default=None, max_length=64)
    msisdn: Msisdn | None = None
    carrier: str | None = Field(default=None, max_length=64)


class TerminalSwapBody(FieldWorkBody):
    old_terminal_id: TerminalId
    new_terminal_id: TerminalId
    new_model: str | None = Field(default=None, max_length=64)
    #: SIM for the new terminal; by default the old terminal's SIM moves across
    new_iccid: Iccid | None = None
    reason: Text | None = None


class SimSwapBody(FieldWorkBody):
    old_iccid: Iccid
    new_iccid: Iccid
    msisdn: Msisdn | None = None
    carrier: str | None = Field(default=None, max_length=64)
    #: what becomes of the SIM taken out
    old_sim_state: Literal["faulty", "in_stock", "deactivated"] = "faulty"
    reason: Text | None = None


class InstallVehicle(Body):
    plate: Plate
    vin: Vin | None = None
    model: Name | None = None
    driver_name: Name | None = None
    driver_phone: Phone | None = None
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    address: Text | None = None


class InstallRequestCreate(Body):
    customer_id: Id
    contact_name: Name | None = None
    contact_phone: Phone | None = None
    address: Text | None = None
    requested_date: date | None = None
    priority: Priority = Priority.NORMAL
    notes: Text | None = None
    vehicles: list[InstallVehicle] = Field(min_length=1, max_length=500)


class DecisionBody(Body):
    version: int = Field(ge=1, description="the install request's version as last read")
    note: Text | None = None


class OrderSummary(Public):
    id: int
    number: str
    state: WorkOrderState
    vehicle_id: int | None
    plate: str | None
    version: int

    @classmethod
    def of(cls, order: WorkOrder) -> OrderSummary:
        return cls(id=order.id, number=order.number, state=order.state,
                   vehicle_id=order.vehicle_pk,
                   plate=order.vehicle.plate if order.vehicle else None, version=order.version)


class InstallRequestPublic(Public):
    id: int
    customer_id: Id
    customer_company: str
    contact_name: str | None
    contact_phone: str | None
    address: str | None
    requested_date: date | None
    notes: str | None
    created_by_id: int | None
    decision: str | None
    decided_at: datetime | None
    decided_by_id: int | None
    decision_note: str | None
    orders: list[OrderSummary]
    created_at: datetime
    version: int

    @classmethod
    def of(cls, request: InstallRequest, orders: list[WorkOrder]) -> InstallRequestPublic:
        return cls(
            id=request.id, customer_id=request.customer_pk,
            customer_company=request.customer.company, contact_name=request.contact_name,
            contact_phone=request.contact_phone, address=request.address,
            requested_date=request.requested_date, notes=request.notes,
            created_by_id=request.created_by_pk, decision=request.decision,
            decided_at=request.decided_at, decided_by_id=request.decided_by_pk,
            decision_note=request.decision_note, orders=[OrderSummary.of(o) for o in orders],
            created_at=request.created_at, version=request.version,
        )


class AuditEntryPublic(Public):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    entity: str
    entity_id: str
    action: str
    changes: dict[str, Any]
    context: str | None

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryPublic:
        return cls(id=e.id, at=e.at, actor_id=e.actor_pk, actor_name=e.actor_name,
                   entity=e.entity, entity_id=e.entity_pk, action=e.action, changes=e.changes,
                   context=e.context)
