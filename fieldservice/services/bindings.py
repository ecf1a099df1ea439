"""Time-bounded bindings: terminal in vehicle, SIM in terminal. Open, close, and ask history.

Periods are half-open, ``[valid_from, valid_to)``: a swap at instant t closes the old binding at
t and opens the new one at t, and a question about instant t gets the new hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.models import (
    HardwareSwap,
    Sim,
    Terminal,
    TerminalSim,
    TerminalVehicle,
    Vehicle,
)


def _covering(model: type[TerminalSim] | type[TerminalVehicle], at: datetime) -> sa.ColumnElement:
    return sa.and_(model.valid_from <= at,
                   sa.or_(model.valid_to.is_(None), model.valid_to > at))


async def open_vehicle_binding(session: AsyncSession, *, terminal_pk: int | None = None,
                               vehicle_pk: int | None = None) -> TerminalVehicle | None:
    stmt = sa.select(TerminalVehicle).where(TerminalVehicle.valid_to.is_(None))
    if terminal_pk is not None:
        stmt = stmt.where(TerminalVehicle.terminal_pk == terminal_pk)
    if vehicle_pk is not None:
        stmt = stmt.where(TerminalVehicle.vehicle_pk == vehicle_pk)
    return (await session.execute(stmt)).scalars().first()


async def open_sim_binding(session: AsyncSession, *, terminal_pk: int | None = None,
                           sim_pk: int | None = None) -> TerminalSim | None:
    stmt = sa.select(TerminalSim).where(TerminalSim.valid_to.is_(None))
    if terminal_pk is not None:
        stmt = stmt.where(TerminalSim.terminal_pk == terminal_pk)
    if sim_pk is not None:
        stmt = stmt.where(TerminalSim.sim_pk == sim_pk)
    return (await session.execute(stmt)).scalars().first()


async def close_binding(session: AsyncSession, binding: TerminalSim | TerminalVehicle, *,
                        at: datetime, actor: Actor) -> None:
    binding.valid_to = at
    binding.closed_by = actor.name
    # flushed now so that the partial unique index sees the slot free before a new binding
    # is inserted in the same transaction
    await session.flush()


async def bind_terminal_to_vehicle(
    session: AsyncSession, *, terminal: Terminal, vehicle: Vehicle, at: datetime,
    actor: Actor, work_order_pk: int | None,
) -> TerminalVehicle:
    binding = TerminalVehicle(
        terminal_pk=terminal.id, vehicle_pk=vehicle.id, valid_from=at, valid_to=None,
        installed_on=at.date(), created_by=actor.name, work_order_pk=work_order_pk,
    )
    binding.terminal, binding.vehicle = terminal, vehicle
    session.add(binding)
    await session.flush()
    return binding


async def bind_sim_to_terminal(
    session: AsyncSession, *, terminal: Terminal, sim: Sim, at: datetime, actor: Actor,
    work_order_pk: int | None,
) -> TerminalSim:
    binding = TerminalSim(terminal_pk=terminal.id, sim_pk=sim.id, valid_from=at, valid_to=None,
                          created_by=actor.name, work_order_pk=work_order_pk)
    binding.terminal, binding.sim = terminal, sim
    session.add(binding)
    await session.flush()
    return binding


@dataclass(frozen=True, slots=True)
class HardwareAt:
    """What was fitted to a vehicle at one instant."""

    at: datetime
    terminal_binding: TerminalVehicle | None
    sim_binding: TerminalSim | None


async def hardware_at(session: AsyncSession, *, vehicle_pk: int, at: datetime) -> HardwareAt:
    tv = (await session.execute(
        sa.select(TerminalVehicle).where(TerminalVehicle.vehicle_pk == vehicle_pk,
                                         _covering(TerminalVehicle, at))
    )).scalars().first()
    ts = None
    if tv is not None:
        ts = (await session.execute(
            sa.select(TerminalSim).where(TerminalSim.terminal_pk == tv.terminal_pk,
                                         _covering(TerminalSim, at))
        )).scalars().first()
    return HardwareAt(at=at, terminal_binding=tv, sim_binding=ts)


async def vehicle_bindings(session: AsyncSession, vehicle_pk: int) -> list[TerminalVehicle]:
    return list((await session.execute(
        sa.select(TerminalVehicle).where(TerminalVehicle.vehicle_pk == vehicle_pk)
        .order_by(TerminalVehicle.valid_from, TerminalVehicle.id)
    )).scalars())


async def terminal_vehicle_bindings(session: AsyncSession,
                                    terminal_pk: int) -> list[TerminalVehicle]:
    return list((await session.execute(
        sa.select(TerminalVehicle).where(TerminalVehicle.terminal_pk == terminal_pk)
        .order_by(TerminalVehicle.valid_from, TerminalVehicle.id)
    )).scalars())


async def sim_bindings(session: AsyncSession, *, terminal_pk: int | None = None,
                       sim_pk: int | None = None) -> list[TerminalSim]:
    stmt = sa.select(TerminalSim).order_by(TerminalSim.valid_from, TerminalSim.id)
    if terminal_pk is not None:
        stmt = stmt.where(TerminalSim.terminal_pk == terminal_pk)
    if sim_pk is not None:
        stmt = stmt.where(TerminalSim.sim_pk == sim_pk)
    return list((await session.execute(stmt)).scalars())


async def swaps(session: AsyncSession, *, work_order_pk: int | None = None,
                vehicle_pk: int | None = None) -> list[HardwareSwap]:
    stmt = sa.select(HardwareSwap).order_by(HardwareSwap.at, HardwareSwap.id)
    if work_order_pk is not None:
        stmt = stmt.where(HardwareSwap.work_order_pk == work_order_pk)
    if vehicle_pk is not None:
        stmt = stmt.where(HardwareSwap.vehicle_pk == vehicle_pk)
    return list((await session.execute(stmt)).scalars())


async def install_date(session: AsyncSession, terminal_pk: int) -> date | None:
    """The first day the terminal was installed in a vehicle: its warranty starts there."""
    value = (await session.execute(
        sa.select(sa.func.min(TerminalVehicle.installed_on))
        .where(TerminalVehicle.terminal_pk == terminal_pk)
    )).scalar_one_or_none()
    return value
