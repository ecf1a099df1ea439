"""What the technician records on an order: checklist, report, terminal registration (installs),
terminal and SIM swaps (repairs). Each is one transaction: bindings close and open together.

Every action bumps the order's version (optimistic concurrency) and is open to the order's
assignee only; system actors (CLI, automation) may act for him.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import Conflict, InvalidInput, PermissionDenied
from fieldservice.models import (
    HardwareSwap,
    SimState,
    SwapKind,
    Terminal,
    TerminalState,
    WorkOrder,
    WorkOrderState,
    WorkOrderType,
)
from fieldservice.roles import FIELD_ROLES
from fieldservice.schemas.work_orders import (
    ChecklistBody,
    FieldWorkBody,
    RegisterTerminalBody,
    ReportBody,
    SimSwapBody,
    TerminalSwapBody,
)
from fieldservice.services import bindings
from fieldservice.services.records import check_version
from fieldservice.services.registry import (
    ensure_sim,
    ensure_terminal,
    put_sim_in_terminal,
    sim_by_iccid,
    terminal_by_id,
)
from fieldservice.services.work_orders import get_order
from fieldservice.timestamps import utcnow
from fieldservice.workflow.guards import CHECKLIST_ITEMS

#: terminals that may go into a vehicle
FITTABLE = frozenset({TerminalState.IN_STOCK, TerminalState.RETURNED, TerminalState.INSTALLED})


async def _field_order(session: AsyncSession, *, actor: Actor, order_pk: int,
                       body: FieldWorkBody, what: str, states: Collection[WorkOrderState],
                       types: Collection[WorkOrderType] = tuple(WorkOrderType)) -> WorkOrder:
    return await assignee_order(session, actor=actor, order_pk=order_pk, version=body.version,
                                what=what, states=states, types=types)


async def assignee_order(session: AsyncSession, *, actor: Actor, order_pk: int, version: int,
                         what: str, states: Collection[WorkOrderState],
                         types: Collection[WorkOrderType] = tuple(WorkOrderType)) -> WorkOrder:
    """The order, when the caller is its assignee (technician or installer), sent its current
    ``version``, and the order's type and state admit ``what``; its version is bumped."""
    order = await get_order(session, order_pk, actor=actor)
    if not actor.is_system and (actor.role not in FIELD_ROLES
                                or order.assignee_pk != actor.user_pk):
        raise PermissionDenied(f"only the assignee of {order.number} may {what}")
    check_version(order, version, f"work order {order.number}")
    if order.type not in types:
        raise Conflict(f"{what} applies to {'/'.join(t.value for t in types)} orders; "
                       f"{order.number} is a {order.type.value} order")
    if order.state not in states:
        raise Conflict(f"{what} is done when the order is "
                       f"{' or '.join(sorted(s.value for s in states))}; {order.number} is "
                       f"{order.state.value}")
    # any field work is a change of the order: bump its version even if no column of it moves
    order.updated_at = utcnow()
    return order


async def confirm_checklist(session: AsyncSession, *, actor: Actor, order_pk: int,
                            body: ChecklistBody) -> WorkOrder:
    order = await _field_order(session, actor=actor, order_pk=order_pk, body=body,
                               what="confirm the checklist", states={WorkOrderState.ASSIGNED})
    checklist: dict[str, Any] = {item: bool(getattr(body, item)) for item in CHECKLIST_ITEMS}
    if body.notes:
        checklist["notes"] = body.notes
    order.checklist = checklist
    order.checklist_confirmed_at = order.updated_at if all(
        checklist[i] for i in CHECKLIST_ITEMS) else None
    await session.flush()
    return order


async def write_report(session: AsyncSession, *, actor: Actor, order_pk: int,
                       body: ReportBody) -> WorkOrder:
    order = await _field_order(session, actor=actor, order_pk=order_pk, body=body,
                               what="write the report", states={WorkOrderState.ON_SITE})
    if body.diagnosis is not None:
        order.diagnosis = body.diagnosis
    if body.actions_taken is not None:
        order.actions_taken = body.actions_taken
    await session.flush()
    return order


async def _undo_registration(session: AsyncSession, *, order: WorkOrder, actor: Actor,
                             keep: Terminal) -> None:
    """The technician corrects a mistyped registration: hardware this order put in the
    vehicle goes back to stock."""
    if order.terminal_pk is None or order.terminal_pk == keep.id:
        return
    now = utcnow()
    tv = await bindings.open_vehicle_binding(session, terminal_pk=order.terminal_pk)
    if tv is not None and tv.work_order_pk == order.id:
        await bindings.close_binding(session, tv, at=now, actor=actor)
        tv.terminal.state = TerminalState.IN_STOCK
    ts = await bindings.open_sim_binding(session, terminal_pk=order.terminal_pk)
    if ts is not None and ts.work_order_pk == order.id:
        await bindings.close_binding(session, ts, at=now, actor=actor)
        ts.sim.state = SimState.IN_STOCK


async def register_terminal(session: AsyncSession, *, actor: Actor, order_pk: int,
                            body: RegisterTerminalBody) -> WorkOrder:
    order = await _field_order(session, actor=actor, order_pk=order_pk, body=body,
                               what="register a terminal", states={WorkOrderState.ON_SITE},
                               types={WorkOrderType.INSTALL})
    vehicle = order.vehicle
    if vehicle is None:
        raise Conflict(f"{order.number} names no vehicle to install in")
    terminal = await ensure_terminal(session, body.terminal_id, model=body.model,
                                     firmware=body.firmware)
    if terminal.state not in FITTABLE:
        raise Conflict(f"terminal {terminal.terminal_id} is {terminal.state.value}")
    sim = await ensure_sim(session, body.iccid, msisdn=body.msisdn, carrier=body.carrier)
    await _undo_registration(session, order=order, actor=actor, keep=terminal)

    now = utcnow()
    tv = await bindings.open_vehicle_binding(session, terminal_pk=terminal.id)
    if tv is not None and tv.vehicle_pk != vehicle.id:
        raise Conflict(f"terminal {terminal.terminal_id} is installed in vehicle "
                       f"{tv.vehicle.plate}")
    in_vehicle = await bindings.open_vehicle_binding(session, vehicle_pk=vehicle.id)
    if in_vehicle is not None and in_vehicle.terminal_pk != terminal.id:
        raise Conflict(f"vehicle {vehicle.plate} already carries terminal "
                       f"{in_vehicle.terminal.terminal_id}; replace it with a terminal swap "
                       "on a repair order")
    if tv is None:
        tv = await bindings.bind_terminal_to_vehicle(session, terminal=terminal, vehicle=vehicle,
                                                     at=now, actor=actor, work_order_pk=order.id)
    terminal.state = TerminalState.INSTALLED
    await put_sim_in_terminal(session, terminal=terminal, sim=sim, actor=actor,
                              work_order_pk=order.id, at=now)
    order.terminal, order.terminal_pk = terminal, terminal.id
    order.terminal_model = terminal.model or order.terminal_model
    # the fix that completes the install must come after this instant
    order.registered_at = max(now, tv.valid_from)
    await session.flush()
    return order


async def swap_terminal(session: AsyncSession, *, actor: Actor, order_pk: int,
                        body: TerminalSwapBody) -> WorkOrder:
    order = await _field_order(session, actor=actor, order_pk=order_pk, body=body,
                               what="swap a terminal", states={WorkOrderState.ON_SITE},
                               types={WorkOrderType.REPAIR})
    if body.new_terminal_id == body.old_terminal_id:
        raise InvalidInput("new_terminal_id must differ from old_terminal_id")
    old = await terminal_by_id(session, body.old_terminal_id)
    if old is None:
        raise InvalidInput(f"old_terminal_id {body.old_terminal_id}: no such terminal")
    old_tv = await bindings.open_vehicle_binding(session, terminal_pk=old.id)
    if old_tv is None:
        raise Conflict(f"terminal {old.terminal_id} is not installed in any vehicle")
    if order.vehicle_pk is not None and old_tv.vehicle_pk != order.vehicle_pk:
        raise Conflict(f"terminal {old.terminal_id} is in vehicle {old_tv.vehicle.plate}, not "
                       f"in this order's vehicle")
    vehicle = old_tv.vehicle
    new = await ensure_terminal(session, body.new_terminal_id, model=body.new_model)
    if new.state not in (TerminalState.IN_STOCK, TerminalState.RETURNED):
        raise Conflict(f"terminal {new.terminal_id} is {new.state.value}, not in stock")
    old_ts = await bindings.open_sim_binding(session, terminal_pk=old.id)
    if body.new_iccid is not None:
        target_sim = await ensure_sim(session, body.new_iccid)
    elif old_ts is not None:
        target_sim = old_ts.sim
    else:
        raise Conflict(f"terminal {old.terminal_id} holds no SIM: give new_iccid")

    now = utcnow()
    reason = body.reason or order.symptoms
    await bindings.close_binding(session, old_tv, at=now, actor=actor)
    old.state = TerminalState.FAULTY
    old.fault_label = (f"{vehicle.plate}: {reason or 'no symptom recorded'} "
                       f"({now.date().isoformat()}, {order.number})")
    if old_ts is not None:
        await bindings.close_binding(session, old_ts, at=now, actor=actor)
        if old_ts.sim is not target_sim:
            old_ts.sim.state = SimState.IN_STOCK
    await bindings.bind_terminal_to_vehicle(session, terminal=new, vehicle=vehicle, at=now,
                                            actor=actor, work_order_pk=order.id)
    new.state = TerminalState.INSTALLED
    await put_sim_in_terminal(session, terminal=new, sim=target_sim, actor=actor,
                              work_order_pk=order.id, at=now)
    session.add(HardwareSwap(
        work_order_pk=order.id, vehicle_pk=vehicle.id, terminal_pk=new.id,
        kind=SwapKind.TERMINAL, old_ref=old.terminal_id, new_ref=new.terminal_id, at=now,
        actor_name=actor.name, reason=reason,
    ))
    if old_ts is not None and old_ts.sim is not target_sim:
        session.add(HardwareSwap(
            work_order_pk=order.id, vehicle_pk=vehicle.id, terminal_pk=new.id,
            kind=SwapKind.SIM, old_ref=old_ts.sim.iccid, new_ref=target_sim.iccid, at=now,
            actor_name=actor.name, reason=reason,
        ))
    order.terminal, order.terminal_pk = new, new.id
    if order.vehicle_pk is None:
        order.vehicle, order.vehicle_pk = vehicle, vehicle.id
    await session.flush()
    return order


async def swap_sim(session: AsyncSession, *, actor: Actor, order_pk: int,
                   body: SimSwapBody) -> WorkOrder:
    order = await _field_order(session, actor=actor, order_pk=order_pk, body=body,
                               what="swap a SIM", states={WorkOrderState.ON_SITE},
                               types={WorkOrderType.REPAIR})
    if body.new_iccid == body.old_iccid:
        raise InvalidInput("new_iccid must differ from old_iccid")
    terminal = order.terminal
    if terminal is None:
        raise Conflict(f"{order.number} names no terminal whose SIM could be swapped")
    old_sim = await sim_by_iccid(session, body.old_iccid)
    if old_sim is None:
        raise InvalidInput(f"old_iccid {body.old_iccid}: no such SIM")
    ts = await bindings.open_sim_binding(session, terminal_pk=terminal.id)
    if ts is None or ts.sim_pk != old_sim.id:
        holds = ts.sim.iccid if ts else "no SIM"
        raise Conflict(f"SIM {old_sim.iccid} is not in terminal {terminal.terminal_id} "
                       f"(it holds {holds})")
    new_sim = await ensure_sim(session, body.new_iccid, msisdn=body.msisdn,
                               carrier=body.carrier)
    now = utcnow()
    await bindings.close_binding(session, ts, at=now, actor=actor)
    old_sim.state = SimState(body.old_sim_state)
    await put_sim_in_terminal(session, terminal=terminal, sim=new_sim, actor=actor,
                              work_order_pk=order.id, at=now)
    tv = await bindings.open_vehicle_binding(session, terminal_pk=terminal.id)
    session.add(HardwareSwap(
        work_order_pk=order.id, vehicle_pk=tv.vehicle_pk if tv else order.vehicle_pk,
        terminal_pk=terminal.id, kind=SwapKind.SIM, old_ref=old_sim.iccid,
        new_ref=new_sim.iccid, at=now, actor_name=actor.name,
        reason=body.reason or order.symptoms,
    ))
    await session.flush()
    return order
