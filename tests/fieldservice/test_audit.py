"""Every change to every record is in the audit log; nothing is hard-deleted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fieldservice.actors import Actor
from fieldservice.api.state import app_state
from fieldservice.db import AuditError, set_actor
from fieldservice.models import AuditEntry, Customer
from fieldservice.roles import Role
from tests.fieldservice.factories import (
    act,
    installed_vehicle,
    make_customer,
    ok,
    repair_order_in_state,
)


async def _entries(client, staff, **params):
    return ok(await client.get("/api/audit", params={"limit": 500, **params},
                               headers=staff[Role.MANAGER].headers))["items"]


async def test_create_update_and_transition_are_audited(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    customer = await make_customer(client, dispatcher.headers, company="Acme Haulage")
    ok(await client.patch(f"/api/customers/{customer['id']}", headers=dispatcher.headers,
                          json={"version": customer["version"], "phone": "+86 10 0000 0001",
                                "company": "Acme Haulage"}))
    entries = await _entries(client, staff, entity="customers", entity_id=str(customer["id"]))
    assert [e["action"] for e in entries] == ["update", "create"]
    update, create = entries
    assert create["changes"]["company"] == [None, "Acme Haulage"]
    assert create["actor_name"] == dispatcher.username
    assert create["actor_id"] == dispatcher.id
    # only what changed, with the value before and after
    assert update["changes"] == {"phone": [customer["phone"], "+86 10 0000 0001"]}
    assert update["context"] == f"PATCH /api/customers/{customer['id']}"

    order = await repair_order_in_state(client, staff, "awaiting_approval", customer["id"])
    order = await act(client, order, "approve", staff[Role.MANAGER], note="ok")
    changes = [e["changes"] for e in await _entries(client, staff, entity="work_orders",
                                                     entity_id=str(order["id"]))]
    state = {k: v for k, v in changes[0].items() if k == "state"}
    assert state == {"state": ["awaiting_approval", "approved"]}
    transitions = await _entries(client, staff, entity="work_order_transitions",
                                 actor=staff[Role.MANAGER].username)
    assert transitions[0]["changes"]["action"] == [None, "approve"]
    assert transitions[0]["changes"]["note"] == [None, "ok"]


async def test_bindings_and_swaps_are_audited(app, client, staff):
    site = await installed_vehicle(app, client, staff)
    bindings = await _entries(client, staff, entity="terminal_vehicles")
    assert [e["action"] for e in bindings] == ["create"]
    assert bindings[0]["changes"]["vehicle_pk"] == [None, site["vehicle"]["id"]]
    sims = await _entries(client, staff, entity="terminal_sims")
    assert sims[0]["changes"]["created_by"] == [None, staff[Role.INSTALLER].username]
    terminals = await _entries(client, staff, entity="terminals")
    assert ["in_stock", "installed"] in [e["changes"].get("state") for e in terminals]


async def test_passwords_never_reach_the_log(client, staff):
    admin = staff[Role.ADMIN]
    user = ok(await client.post("/api/users", headers=admin.headers, json={
        "username": "newbie", "password": "first password", "role": "tester"}), 201)
    ok(await client.patch(f"/api/users/{user['id']}", headers=admin.headers, json={
        "version": user["version"], "password": "second password"}))
    entries = await _entries(client, staff, entity="users", entity_id=str(user["id"]))
    assert [e["changes"]["password_hash"] for e in entries] == [["***", "***"], [None, "***"]]
    everything = str(await _entries(client, staff, entity="users"))
    assert "argon2" not in everything and "password" not in everything.replace(
        "password_hash", "")


async def test_hard_delete_and_anonymous_writes_are_refused(app, client, staff):
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    state = app_state(app)
    async with state.sessions() as session:
        set_actor(session, Actor.system("test"))
        row = await session.get(Customer, customer["id"])
        await session.delete(row)
        with pytest.raises(AuditError, match="never deleted"):
            await session.flush()
    async with state.sessions() as session:
        session.add(Customer(company="Nobody's", active=True))
        with pytest.raises(AuditError, match="without an actor"):
            await session.flush()
    async with state.sessions() as session:
        count = (await session.execute(sa.select(sa.func.count()).select_from(Customer))).scalar()
        assert count == 1
        audit = (await session.execute(sa.select(sa.func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.entity == "customers"))).scalar()
        assert audit == 1


async def test_audit_filters_and_roles(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    await make_customer(client, dispatcher.headers)
    assert (await client.get("/api/audit", headers=dispatcher.headers)).status_code == 403
    mine = await _entries(client, staff, actor=dispatcher.username)
    assert mine and all(e["actor_name"] == dispatcher.username for e in mine)
    assert await _entries(client, staff, since="2999-01-01T00:00:00") == []
    everything = ok(await client.get("/api/audit", params={"limit": 2},
                                     headers=staff[Role.ADMIN].headers))
    assert len(everything["items"]) == 2 and everything["total"] > 2
