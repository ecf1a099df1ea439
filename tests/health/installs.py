"""Terminals installed in customers' vehicles, as completed install orders leave them."""

from __future__ import annotations

from datetime import UTC, datetime

from fieldgate.dburl import DatabaseURL
from fieldservice.actors import Actor
from fieldservice.db import create_engine, session_factory, set_actor
from fieldservice.models import TerminalState
from fieldservice.schemas.fleet import VehicleCreate
from fieldservice.schemas.people import CustomerCreate
from fieldservice.services import bindings
from fieldservice.services.customers import create_customer
from fieldservice.services.registry import ensure_sim, ensure_terminal, put_sim_in_terminal
from fieldservice.services.vehicles import create_vehicle


async def install(db: DatabaseURL, terminal_ids: list[str]) -> None:
    """Each terminal installed in a vehicle of its own customer, as a completed install order
    leaves them (through the service layer)."""
    engine = create_engine(db)
    try:
        async with session_factory(engine)() as session, session.begin():
            actor = Actor.system("test-setup")
            set_actor(session, actor)
            for n, tid in enumerate(terminal_ids):
                customer = await create_customer(session, data=CustomerCreate(
                    company=f"Haulier {tid}", contact_name="Li Wei", phone="+86 10 5555 0100",
                    address="1 Depot Road"))
                vehicle = await create_vehicle(session, data=VehicleCreate(
                    customer_id=customer.id, plate=f"E2E{n:04d}"))
                terminal = await ensure_terminal(session, tid, model="T55")
                sim = await ensure_sim(session, f"8986{n:016d}")
                now = datetime.now(UTC)
                await bindings.bind_terminal_to_vehicle(session, terminal=terminal,
                                                        vehicle=vehicle, at=now, actor=actor,
                                                        work_order_pk=None)
                terminal.state = TerminalState.INSTALLED
                await put_sim_in_terminal(session, terminal=terminal, sim=sim, actor=actor,
                                          at=now)
    finally:
        await engine.dispose()
