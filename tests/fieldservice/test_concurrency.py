"""Concurrent writers: optimistic versions make exactly one of two dispatchers win."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy.orm.exc import StaleDataError

from fieldgate.dburl import DatabaseURL
from fieldservice.actors import Actor
from fieldservice.api import close_app, create_app
from fieldservice.api.state import app_state
from fieldservice.db import set_actor
from fieldservice.roles import Role
from fieldservice.services.work_orders import get_order, run_transition
from fieldservice.workflow import AssignRequest
from tests.fieldservice.factories import (
    get_order as fetch_order,
)
from tests.fieldservice.factories import (
    make_customer,
    make_staff,
    ok,
    repair_order_in_state,
)


async def test_two_dispatchers_assign_one_order_one_wins(app, client, staff):
    other_dispatcher = await make_staff(app, client, Role.DISPATCHER)
    other_technician = await make_staff(app, client, Role.TECHNICIAN)
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    for _ in range(5):
        order = await repair_order_in_state(client, staff, "approved", customer["id"])
        attempts = [
            client.post(f"/api/work-orders/{order['id']}/assign", headers=who.headers,
                        json={"version": order["version"], "assignee_id": tech.id})
            for who, tech in ((staff[Role.DISPATCHER], staff[Role.TECHNICIAN]),
                              (other_dispatcher, other_technician))
        ]
        answers = await asyncio.gather(*attempts)
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        winner = next(a.json() for a in answers if a.status_code == 200)
        loser = next(a.json() for a in answers if a.status_code == 409)
        assert "changed by someone else" in loser["detail"]
        final = await fetch_order(client, order["id"], staff[Role.MANAGER])
        assert final["assignee_id"] == winner["assignee_id"]
        assert final["version"] == order["version"] + 1
        history = ok(await client.get(f"/api/work-orders/{order['id']}/transitions",
                                      headers=staff[Role.MANAGER].headers))
        assert [t["action"] for t in history].count("assign") == 1


@pytest.mark.postgres
async def test_concurrent_write_caught_at_update_time(pg_db: DatabaseURL, settings):
    """Both transactions read version v before either writes: the database, not the pre-check,
    refuses the second (UPDATE ... WHERE version = v matches no row once the first commits)."""
    import httpx

    app = create_app(db=pg_db, settings=settings)
    state = app_state(app)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            staff = {role: await make_staff(app, client, role) for role in Role}
            second = await make_staff(app, client, Role.TECHNICIAN)
            customer = await make_customer(client, staff[Role.DISPATCHER].headers)
            order = await repair_order_in_state(client, staff, "approved", customer["id"])

        actors = [Actor(name=staff[Role.DISPATCHER].username, user_pk=staff[Role.DISPATCHER].id,
                        role=Role.DISPATCHER),
                  Actor(name="dispatcher-2", user_pk=None, role=Role.DISPATCHER)]
        async with state.sessions() as first, state.sessions() as late:
            for session, actor in zip((first, late), actors, strict=True):
                set_actor(session, actor)
            # both read the order at the same version (kept referenced: the identity map holds
            # loaded objects weakly)
            seen = [await get_order(first, order["id"], actor=actors[0]),
                    await get_order(late, order["id"], actor=actors[1])]
            assert [o.version for o in seen] == [order["version"]] * 2
            await run_transition(first, table=state.transitions, order_pk=order["id"],
                                 action="assign", actor=actors[0], request=AssignRequest(
                                     version=order["version"],
                                     assignee_id=staff[Role.TECHNICIAN].id))
            await first.commit()
            with pytest.raises(StaleDataError):
                await run_transition(late, table=state.transitions, order_pk=order["id"],
                                     action="assign", actor=actors[1], request=AssignRequest(
                                         version=order["version"], assignee_id=second.id))
    finally:
        await close_app(app)


async def test_concurrent_order_numbers_are_unique_and_dense(client, staff):
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    body = {"type": "repair", "source": "customer_call", "customer_id": customer["id"]}
    answers = await asyncio.gather(*[
        client.post("/api/work-orders", json=body, headers=staff[Role.DISPATCHER].headers)
        for _ in range(20)])
    numbers = sorted(ok(a, 201)["number"] for a in answers)
    assert all(re.fullmatch(r"WO-\d{4}-\d{6}", n) for n in numbers)
    assert [int(n[-6:]) for n in numbers] == list(range(1, 21))
