"""The terminal and SIM registry (tables shared with the gateway, which looks terminals up by
``terminal_id`` to decide whether a stream is from a registered unit)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import Conflict, InvalidInput, NotFound
from fieldservice.models import HardwareSwap, Sim, SimState, Terminal, TerminalState
from fieldservice.schemas.fleet import (
    SimCreate,
    SimDetail,
    SimPeriod,
    SimPublic,
    SimUpdate,
    SwapPublic,
    TerminalCreate,
    TerminalDetail,
    TerminalHistory,
    TerminalPeriod,
    TerminalPublic,
    TerminalUpdate,
    VehicleRef,
)
from fieldservice.services import bindings
from fieldservice.services.records import Page, apply_changes, check_version, paginate
from fieldservice.timestamps import utcnow
from fieldservice.warranty import warranty_status


async def terminal_by_id(session: AsyncSession, terminal_id: str) -> Terminal | None:
    return (await session.execute(
        sa.select(Terminal).where(Terminal.terminal_id == terminal_id)
    )).scalars().first()


async def get_terminal(session: AsyncSession, terminal_id: str) -> Terminal:
    terminal = await terminal_by_id(session, terminal_id)
    if terminal is None:
        raise NotFound(f"no terminal {terminal_id}")
    return terminal


async def sim_by_iccid(session: AsyncSession, iccid: str) -> Sim | None:
    return (await session.execute(sa.select(Sim).where(Sim.iccid == iccid))).scalars().first()


async def get_sim(session: AsyncSession, iccid: str) -> Sim:
    sim = await sim_by_iccid(session, iccid)
    if sim is None:
        raise NotFound(f"no SIM {iccid}")
    return sim


async def ensure_terminal(session: AsyncSession, terminal_id: str, *, model: str | None = None,
                          firmware: str | None = None) -> Terminal:
    """The registered terminal, or a new one in stock (installers register units on site)."""
    terminal = await terminal_by_id(session, terminal_id)
    if terminal is None:
        terminal = Terminal(terminal_id=terminal_id, model=model, firmware=firmware,
                            state=TerminalState.IN_STOCK, warranty_months=12,
                            registered_at=utcnow())
        session.add(terminal)
        await session.flush()
    else:
        apply_changes(terminal, {k: v for k, v in (("model", model), ("firmware", firmware))
                                 if v is not None})
    return terminal


async def ensure_sim(session: AsyncSession, iccid: str, *, msisdn: str | None = None,
                     carrier: str | None = None) -> Sim:
    sim = await sim_by_iccid(session, iccid)
    if sim is None:
        sim = Sim(iccid=iccid, msisdn=msisdn, carrier=carrier, state=SimState.IN_STOCK)
        session.add(sim)
        await session.flush()
    else:
        apply_changes(sim, {k: v for k, v in (("msisdn", msisdn), ("carrier", carrier))
                            if v is not None})
    return sim


async def put_sim_in_terminal(session: AsyncSession, *, terminal: Terminal, sim: Sim,
                              actor: Actor, work_order_pk: int | None = None,
                              at: datetime | None = None) -> bool:
    """Make ``sim`` the terminal's SIM from now on; False when it already was.

    A SIM still in another terminal is refused (409): taking it out of a working unit is a
    swap on that unit's repair order. A SIM the terminal held before goes back to stock.
    """
    now = at or utcnow()
    current = await bindings.open_sim_binding(session, terminal_pk=terminal.id)
    if current is not None and current.sim_pk == sim.id:
        return False
    elsewhere = await bindings.open_sim_binding(session, sim_pk=sim.id)
    if elsewhere is not None:
        raise Conflict(f"SIM {sim.iccid} is in terminal {elsewhere.terminal.terminal_id}")
    if sim.state in (SimState.FAULTY, SimState.DEACTIVATED):
        raise Conflict(f"SIM {sim.iccid} is {sim.state.value}")
    if current is not None:
        await bindings.close_binding(session, current, at=now, actor=actor)
        current.sim.state = SimState.IN_STOCK
    await bindings.bind_sim_to_terminal(session, terminal=terminal, sim=sim, at=now, actor=actor,
                                        work_order_pk=work_order_pk)
    sim.state = SimState.ACTIVE
    return True


async def create_terminal(session: AsyncSession, *, actor: Actor,
                          data: TerminalCreate) -> Terminal:
    if await terminal_by_id(session, data.terminal_id) is not None:
        raise Conflict(f"terminal {data.terminal_id} is already registered")
    terminal = Terminal(
        terminal_id=data.terminal_id, model=data.model, firmware=data.firmware,
        purchase_date=data.purchase_date, warranty_months=data.warranty_months,
        report_interval_s=data.report_interval_s, notes=data.notes,
        state=TerminalState.IN_STOCK, registered_at=utcnow(),
    )
    session.add(terminal)
    await session.flush()
    if data.iccid is not None:
        sim = await ensure_sim(session, data.iccid, msisdn=data.msisdn, carrier=data.carrier)
        await put_sim_in_terminal(session, terminal=terminal, sim=sim, actor=actor)
    elif data.msisdn or data.carrier:
        raise InvalidInput("msisdn and carrier describe a SIM: give its iccid too")
    return terminal


async def update_terminal(session: AsyncSession, *, terminal_id: str,
                          data: TerminalUpdate) -> Terminal:
    terminal = await get_terminal(session, terminal_id)
    check_version(terminal, data.version, f"terminal {terminal_id}")
    changes = data.changes()
    state = changes.get("state")
    if state is not None and state != terminal.state:
        if state is TerminalState.INSTALLED:
            raise InvalidInput("state installed is set by registering the terminal on a vehicle")
        binding = await bindings.open_vehicle_binding(session, terminal_pk=terminal.id)
        if binding is not None:
            raise Conflict(f"terminal {terminal_id} is installed in vehicle "
                           f"{binding.vehicle.plate}; swap it out on a repair order first")
    apply_changes(terminal, changes)
    await session.flush()
    return terminal


async def list_terminals(session: AsyncSession, *, state: TerminalState | None,
                         model: str | None, q: str | None, limit: int,
                         offset: int) -> Page[Terminal]:
    stmt = sa.select(Terminal).order_by(Terminal.terminal_id)
    if state is not None:
        stmt = stmt.where(Terminal.state == state)
    if model is not None:
        stmt = stmt.where(Terminal.model == model)
    if q:
        stmt = stmt.where(Terminal.terminal_id.like(f"%{q}%"))
    return await paginate(session, stmt, limit=limit, offset=offset)


async def terminal_detail(session: AsyncSession, terminal: Terminal, *,
                          today: date) -> TerminalDetail:
    vehicle_binding = await bindings.open_vehicle_binding(session, terminal_pk=terminal.id)
    sim_binding = await bindings.open_sim_binding(session, terminal_pk=terminal.id)
    warranty = await warranty_status(session, terminal, on=today)
    vehicle = vehicle_binding.vehicle if vehicle_binding else None
    return TerminalDetail(
        **TerminalPublic.model_validate(terminal).model_dump(),
        vehicle=VehicleRef(id=vehicle.id, plate=vehicle.plate, customer_id=vehicle.customer_pk)
        if vehicle else None,
        iccid=sim_binding.sim.iccid if sim_binding else None,
        installed_on=warranty.installed_on, warranty_until=warranty.until,
        in_warranty=warranty.in_warranty,
    )


async def terminal_history(session: AsyncSession, terminal: Terminal) -> TerminalHistory:
    vehicles = await bindings.terminal_vehicle_bindings(session, terminal.id)
    sims = await bindings.sim_bindings(session, terminal_pk=terminal.id)
    swaps = (await session.execute(
        sa.select(HardwareSwap)
        .where(sa.or_(HardwareSwap.terminal_pk == terminal.id,
                      HardwareSwap.old_ref == terminal.terminal_id))
        .order_by(HardwareSwap.at, HardwareSwap.id)
    )).scalars().all()
    return TerminalHistory(terminal_id=terminal.terminal_id,
                           vehicles=[TerminalPeriod.of(b) for b in vehicles],
                           sims=[SimPeriod.of(b) for b in sims],
                           swaps=[SwapPublic.of(s) for s in swaps])


async def create_sim(session: AsyncSession, *, data: SimCreate) -> Sim:
    if await sim_by_iccid(session, data.iccid) is not None:
        raise Conflict(f"SIM {data.iccid} is already registered")
    sim = Sim(**data.model_dump(), state=SimState.IN_STOCK)
    session.add(sim)
    await session.flush()
    return sim


async def update_sim(session: AsyncSession, *, iccid: str, data: SimUpdate) -> Sim:
    sim = await get_sim(session, iccid)
    check_version(sim, data.version, f"SIM {iccid}")
    changes = data.changes()
    state = changes.get("state")
    if state is not None and state != sim.state:
        if state is SimState.ACTIVE:
            raise InvalidInput("state active is set by putting the SIM in a terminal")
        binding = await bindings.open_sim_binding(session, sim_pk=sim.id)
        if binding is not None:
            raise Conflict(f"SIM {iccid} is in terminal {binding.terminal.terminal_id}; "
                           "swap it out on a repair order first")
    apply_changes(sim, changes)
    await session.flush()
    return sim


async def list_sims(session: AsyncSession, *, state: SimState | None, carrier: str | None,
                    q: str | None, limit: int, offset: int) -> Page[Sim]:
    stmt = sa.select(Sim).order_by(Sim.iccid)
    if state is not None:
        stmt = stmt.where(Sim.state == state)
    if carrier is not None:
        stmt = stmt.where(Sim.carrier == carrier)
    if q:
        stmt = stmt.where(sa.or_(Sim.iccid.like(f"%{q}%"), Sim.msisdn.like(f"%{q}%")))
    return await paginate(session, stmt, limit=limit, offset=offset)


async def sim_detail(session: AsyncSession, sim: Sim) -> SimDetail:
    binding = await bindings.open_sim_binding(session, sim_pk=sim.id)
    return SimDetail(**SimPublic.model_validate(sim).model_dump(),
                     terminal_id=binding.terminal.terminal_id if binding else None)


async def sim_history(session: AsyncSession, sim: Sim) -> list[SimPeriod]:
    return [SimPeriod.of(b) for b in await bindings.sim_bindings(session, sim_pk=sim.id)]
