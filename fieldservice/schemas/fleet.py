"""Vehicles, terminals, SIM cards, bindings and swaps."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from fieldservice.models import (
    HardwareSwap,
    SimState,
    SwapKind,
    TerminalSim,
    TerminalState,
    TerminalVehicle,
    Vehicle,
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
    TerminalId,
    Text,
    UpdateBody,
    Vin,
)


class VehicleCreate(Body):
    customer_id: Id
    plate: Plate
    vin: Vin | None = None
    model: Name | None = None
    driver_name: Name | None = None
    driver_phone: Phone | None = None
    notes: Text | None = None


class VehicleUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"customer_id", "plate", "active"})

    customer_id: Id | None = None
    plate: Plate | None = None
    vin: Vin | None = None
    model: Name | None = None
    driver_name: Name | None = None
    driver_phone: Phone | None = None
    notes: Text | None = None
    active: bool | None = None


class VehiclePublic(Public):
    id: int
    customer_id: Id
    customer_company: str
    plate: str
    vin: str | None
    model: str | None
    driver_name: str | None
    driver_phone: str | None
    notes: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, vehicle: Vehicle) -> VehiclePublic:
        return cls(
            id=vehicle.id, customer_id=vehicle.customer_pk,
            customer_company=vehicle.customer.company, plate=vehicle.plate, vin=vehicle.vin,
            model=vehicle.model, driver_name=vehicle.driver_name,
            driver_phone=vehicle.driver_phone, notes=vehicle.notes, active=vehicle.active,
            created_at=vehicle.created_at, updated_at=vehicle.updated_at,
            version=vehicle.version,
        )


class TerminalCreate(Body):
    terminal_id: TerminalId
    model: str | None = Field(default=None, max_length=64)
    firmware: str | None = Field(default=None, max_length=64)
    purchase_date: date | None = None
    warranty_months: int = Field(default=12, ge=0, le=240)
    report_interval_s: int | None = Field(default=None, ge=1, le=86400)
    notes: Text | None = None
    #: pair the terminal with this SIM (created when unknown)
    iccid: Iccid | None = None
    msisdn: Msisdn | None = None
    carrier: str | None = Field(default=None, max_length=64)


class TerminalUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"warranty_months", "state"})

    model: str | None = Field(default=None, max_length=64)
    firmware: str | None = Field(default=None, max_length=64)
    purchase_date: date | None = None
    warranty_months: int | None = Field(default=None, ge=0, le=240)
    report_interval_s: int | None = Field(default=None, ge=1, le=86400)
    notes: Text | None = None
    #: in_stock / faulty / returned / scrapped; "installed" comes from registering on a vehicle
    state: TerminalState | None = None


class TerminalPublic(Public):
    id: int
    terminal_id: str
    model: str | None
    firmware: str | None
    purchase_date: date | None
    warranty_months: int
    state: TerminalState
    report_interval_s: int | None
    registered_at: datetime
    notes: str | None
    fault_label: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class VehicleRef(Public):
    id: int
    plate: str
    customer_id: Id


class TerminalDetail(TerminalPublic):
    vehicle: VehicleRef | None
    iccid: str | None
    installed_on: date | None
    warranty_until: date | None
    in_warranty: bool


class SimCreate(Body):
    iccid: Iccid
    msisdn: Msisdn | None = None
    carrier: str | None = Field(default=None, max_length=64)
    notes: Text | None = None


class SimUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"state"})

    msisdn: Msisdn | None = None
    carrier: str | None = Field(default=None, max_length=64)
    notes: Text | None = None
    #: in_stock / faulty / deactivated; "active" comes from putting it in a terminal
    state: SimState | None = None


class SimPublic(Public):
    id: int
    iccid: str
    msisdn: str | None
    carrier: str | None
    state: SimState
    notes: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class SimDetail(SimPublic):
    terminal_id: str | None


class SimPeriod(Public):
    iccid: str
    terminal_id: str
    valid_from: datetime
    valid_to: datetime | None
    work_order_id: int | None

    @classmethod
    def of(cls, binding: TerminalSim) -> SimPeriod:
        return cls(iccid=binding.sim.iccid, terminal_id=binding.terminal.terminal_id,
                   valid_from=binding.valid_from, valid_to=binding.valid_to,
                   work_order_id=binding.work_order_pk)


class TerminalPeriod(Public):
    terminal_id: str
    vehicle_id: int
    plate: str
    valid_from: datetime
    valid_to: datetime | None
    installed_on: date
    work_order_id: int | None

    @classmethod
    def of(cls, binding: TerminalVehicle) -> TerminalPeriod:
        return cls(terminal_id=binding.terminal.terminal_id, vehicle_id=binding.vehicle_pk,
                   plate=binding.vehicle.plate, valid_from=binding.valid_from,
                   valid_to=binding.valid_to, installed_on=binding.installed_on,
                   work_order_id=binding.work_order_pk)


class SwapPublic(Public):
    id: int
    work_order_id: int
    vehicle_id: int | None
    kind: SwapKind
    old: str
    new: str
    at: datetime
    by: str
    reason: str | None

    @classmethod
    def of(cls, swap: HardwareSwap) -> SwapPublic:
        return cls(id=swap.id, work_order_id=swap.work_order_pk, vehicle_id=swap.vehicle_pk,
                   kind=swap.kind, old=swap.old_ref, new=swap.new_ref, at=swap.at,
                   by=swap.actor_name, reason=swap.reason)


class HardwareAtPublic(Body):
    """Which terminal, and which SIM in it, a vehicle carried at one instant."""

    vehicle_id: int
    plate: str
    at: datetime
    terminal: TerminalPeriod | None
    sim: SimPeriod | None


class VehicleHistory(Body):
    vehicle_id: int
    plate: str
    terminals: list[TerminalPeriod]
    #: SIM periods of every terminal the vehicle carried, within the time it carried it
    sims: list[SimPeriod]
    swaps: list[SwapPublic]


class TerminalHistory(Body):
    terminal_id: str
    vehicles: list[TerminalPeriod]
    sims: list[SimPeriod]
    swaps: list[SwapPublic]
