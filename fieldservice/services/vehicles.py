"""Vehicles, and what hardware they carried when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.errors import Conflict, InvalidInput
from fieldservice.models import Customer, TerminalSim, Vehicle
from fieldservice.schemas.fleet import (
    HardwareAtPublic,
    SimPeriod,
    SwapPublic,
    TerminalPeriod,
    VehicleCreate,
    VehicleHistory,
    VehicleUpdate,
)
from fieldservice.services import bindings
from fieldservice.services.records import Page, apply_changes, check_version, get_or_404, paginate


async def vehicle_by_plate(session: AsyncSession, plate: str) -> Vehicle | None:
    return (await session.execute(
        sa.select(Vehicle).where(Vehicle.plate == plate)
    )).scalars().first()


async def vehicle_by_vin(session: AsyncSession, vin: str) -> Vehicle | None:
    return (await session.execute(sa.select(Vehicle).where(Vehicle.vin == vin))).scalars().first()


async def _customer_for_vehicle(session: AsyncSession, customer_pk: int) -> Customer:
    customer = await session.get(Customer, customer_pk)
    if customer is None:
        raise InvalidInput(f"customer_id {customer_pk}: no such customer")
    if not customer.active:
        raise Conflict(f"customer {customer.company} is deactivated")
    return customer


async def _check_unique(session: AsyncSession, *, plate: str | None, vin: str | None,
                        exclude_pk: int | None = None) -> None:
    if plate is not None:
        other = await vehicle_by_plate(session, plate)
        if other is not None and other.id != exclude_pk:
            raise Conflict(f"plate {plate} is already registered (vehicle {other.id})")
    if vin is not None:
        other = await vehicle_by_vin(session, vin)
        if other is not None and other.id != exclude_pk:
            raise Conflict(f"VIN {vin} is already registered (vehicle {other.id})")


async def create_vehicle(session: AsyncSession, *, data: VehicleCreate) -> Vehicle:
    customer = await _customer_for_vehicle(session, data.customer_id)
    await _check_unique(session, plate=data.plate, vin=data.vin)
    vehicle = Vehicle(customer_pk=customer.id, plate=data.plate, vin=data.vin, model=data.model,
                      driver_name=data.driver_name, driver_phone=data.driver_phone,
                      notes=data.notes, active=True)
    vehicle.customer = customer
    session.add(vehicle)
    await session.flush()
    return vehicle


async def update_vehicle(session: AsyncSession, *, vehicle_pk: int,
                         data: VehicleUpdate) -> Vehicle:
    vehicle = await get_or_404(session, Vehicle, vehicle_pk, "vehicle")
    check_version(vehicle, data.version, f"vehicle {vehicle.plate}")
    changes = data.changes()
    await _check_unique(session, plate=changes.get("plate"), vin=changes.get("vin"),
                        exclude_pk=vehicle.id)
    customer_pk = changes.pop("customer_id", None)
    if customer_pk is not None and customer_pk != vehicle.customer_pk:
        vehicle.customer = await _customer_for_vehicle(session, customer_pk)
        vehicle.customer_pk = customer_pk
    apply_changes(vehicle, changes)
    await session.flush()
    return vehicle


async def list_vehicles(session: AsyncSession, *, customer_pk: int | None, plate: str | None,
                        q: str | None, active: bool | None, limit: int,
                        offset: int) -> Page[Vehicle]:
    stmt = sa.select(Vehicle).order_by(Vehicle.plate)
    if customer_pk is not None:
        stmt = stmt.where(Vehicle.customer_pk == customer_pk)
    if plate is not None:
        stmt = stmt.where(Vehicle.plate == plate)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(Vehicle.plate).like(pattern),
                                 sa.func.lower(Vehicle.vin).like(pattern),
                                 sa.func.lower(Vehicle.driver_name).like(pattern)))
    if active is not None:
        stmt = stmt.where(Vehicle.active == active)
    return await paginate(session, stmt, limit=limit, offset=offset)


async def hardware_at(session: AsyncSession, *, vehicle_pk: int,
                      at: datetime) -> HardwareAtPublic:
    vehicle = await get_or_404(session, Vehicle, vehicle_pk, "vehicle")
    found = await bindings.hardware_at(session, vehicle_pk=vehicle.id, at=at)
    return HardwareAtPublic(
        vehicle_id=vehicle.id, plate=vehicle.plate, at=at,
        terminal=TerminalPeriod.of(found.terminal_binding) if found.terminal_binding else None,
        sim=SimPeriod.of(found.sim_binding) if found.sim_binding else None,
    )


def _overlaps(sim: TerminalSim, start: datetime, end: datetime | None) -> bool:
    return (end is None or sim.valid_from < end) and (sim.valid_to is None
                                                      or sim.valid_to > start)


async def history(session: AsyncSession, *, vehicle_pk: int) -> VehicleHistory:
    vehicle = await get_or_404(session, Vehicle, vehicle_pk, "vehicle")
    periods = await bindings.vehicle_bindings(session, vehicle.id)
    sims: list[SimPeriod] = []
    for period in periods:
        for sim in await bindings.sim_bindings(session, terminal_pk=period.terminal_pk):
            if _overlaps(sim, period.valid_from, period.valid_to):
                sims.append(SimPeriod.of(sim))
    sims.sort(key=lambda s: s.valid_from)
    swaps = await bindings.swaps(session, vehicle_pk=vehicle.id)
    return VehicleHistory(
        vehicle_id=vehicle.id, plate=vehicle.plate,
        terminals=[TerminalPeriod.of(p) for p in periods], sims=sims,
        swaps=[SwapPublic.of(s) for s in swaps],
    )
