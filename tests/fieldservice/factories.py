"""Factories for the service-layer tests: users per role, customers, vehicles, terminals, SIMs,
orders walked through their states, and fixes as the gateway's telemetry writer stores them.

Everything a workflow test does goes through the HTTP API; only users (created before anyone
can log in) and fixes (written by the gateway, not the API) are written directly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from fieldservice.actors import Actor
from fieldservice.api.state import app_state
from fieldservice.db import set_actor
from fieldservice.models import positions
from fieldservice.roles import Role
from fieldservice.schemas.people import UserCreate
from fieldservice.services.users import create_user
from fieldservice.timestamps import utcnow

PASSWORD = "correct horse battery"
#: argon2 at its minimum cost: hashing is not what these tests test, and each user costs one
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
_seq = itertools.count(1)


def unique(prefix: str = "") -> str:
    return f"{prefix}{next(_seq):06d}"


def terminal_id() -> str:
    return f"86{next(_seq):013d}"  # 15 digits, IMEI-like


def iccid() -> str:
    return f"8986{next(_seq):016d}"  # 20 digits


def plate() -> str:
    return f"FG{next(_seq):05d}"


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    username: str
    role: Role
    headers: dict[str, str]


async def add_user(app: FastAPI, *, username: str, role: Role, password: str = PASSWORD,
                   skills: list[str] | None = None, zone: str | None = None) -> int:
    state = app_state(app)
    async with state.sessions() as session:
        set_actor(session, Actor.system("test-setup"))
        user = await create_user(session, passwords=state.passwords, data=UserCreate(
            username=username, password=password, role=role, skills=skills or [], zone=zone))
        await session.commit()
        return user.id


async def login(client: httpx.AsyncClient, username: str,
                password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/api/auth/token",
                                 data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def make_staff(app: FastAPI, client: httpx.AsyncClient, role: Role,
                     **kwargs: Any) -> Staff:
    username = unique(f"{role.value}-")
    user_id = await add_user(app, username=username, role=role, **kwargs)
    return Staff(id=user_id, username=username, role=role,
                 headers=await login(client, username))


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


async def make_customer(client: httpx.AsyncClient, headers: dict[str, str],
                        **fields: Any) -> dict[str, Any]:
    body = {"company": unique("Transport Co "), "contact_name": "Li Wei",
            "phone": "+86 10 5555 0100", "address": "1 Depot Road, Beijing", **fields}
    return ok(await client.post("/api/customers", json=body, headers=headers), 201)


async def make_vehicle(client: httpx.AsyncClient, headers: dict[str, str], customer_id: int,
                       **fields: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "plate": plate(), "driver_name": "Zhang San",
            "driver_phone": "+86 139 0000 0000", **fields}
    return ok(await client.post("/api/vehicles", json=body, headers=headers), 201)


async def make_terminal(client: httpx.AsyncClient, headers: dict[str, str],
                        **fields: Any) -> dict[str, Any]:
    body = {"terminal_id": terminal_id(), "model": "T55", **fields}
    return ok(await client.post("/api/terminals", json=body, headers=headers), 201)


async def record_fix(app: FastAPI, terminal: str, *, received_at: datetime | None = None,
                     fix_time: datetime | None = None, quality: int = 1) -> None:
    """A fix as the gateway's telemetry writer stores it in ``positions``."""
    received_at = received_at or utcnow()
    async with app_state(app).engine.begin() as conn:
        await conn.execute(sa.insert(positions).values(
            terminal_id=terminal, fix_time=fix_time or received_at - timedelta(seconds=1),
            lat=39.9042, lon=116.4074, fix_quality=quality, received_at=received_at,
        ))


async def act(client: httpx.AsyncClient, order: dict[str, Any], action: str,
              staff: Staff, status: int = 200, **body: Any) -> dict[str, Any]:
    """POST a transition or field action with the order's current version."""
    response = await client.post(f"/api/work-orders/{order['id']}/{action}",
                                 json={"version": order["version"], **body},
                                 headers=staff.headers)
    return ok(response, status)


async def get_order(client: httpx.AsyncClient, order_id: int, staff: Staff) -> dict[str, Any]:
    return ok(await client.get(f"/api/work-orders/{order_id}", headers=staff.headers))


async def install_order_on_site(client: httpx.AsyncClient, staff: dict[Role, Staff]
                                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new customer's install request, approved, its order walked to on_site by the
    installer. Returns ``(customer, order)``."""
    dispatcher, manager, installer = (staff[Role.DISPATCHER], staff[Role.MANAGER],
                                      staff[Role.INSTALLER])
    customer = await make_customer(client, dispatcher.headers)
    request = ok(await client.post("/api/install-requests", headers=installer.headers, json={
        "customer_id": customer["id"], "vehicles": [{"plate": plate()}]}), 201)
    ok(await client.post(f"/api/install-requests/{request['id']}/approve",
                         json={"version": request["version"]}, headers=manager.headers))
    order = await get_order(client, request["orders"][0]["id"], dispatcher)
    order = await act(client, order, "assign", dispatcher, assignee_id=installer.id)
    order = await act(client, order, "depart", installer)
    return customer, await act(client, order, "arrive", installer)


async def installed_vehicle(app: FastAPI, client: httpx.AsyncClient,
                            staff: dict[Role, Staff]) -> dict[str, Any]:
    """A customer's vehicle with a terminal and SIM installed through a full install order.

    Returns ``{"customer", "vehicle", "terminal_id", "iccid", "order"}``.
    """
    dispatcher, installer = staff[Role.DISPATCHER], staff[Role.INSTALLER]
    customer, order = await install_order_on_site(client, staff)
    tid, card = terminal_id(), iccid()
    order = await act(client, order, "register-terminal", installer, terminal_id=tid, iccid=card,
                      model="T55")
    await record_fix(app, tid, received_at=utcnow() + timedelta(milliseconds=1))
    order = await act(client, order, "complete", installer)
    order = await act(client, order, "close", dispatcher)
    vehicle = ok(await client.get(f"/api/vehicles/{order['vehicle_id']}",
                                  headers=dispatcher.headers))
    return {"customer": customer, "vehicle": vehicle, "terminal_id": tid, "iccid": card,
            "order": order}


#: how to walk a fresh repair order to each state: (action, role that does it, extra body)
_PATH = {
    "new": [],
    "awaiting_approval": [("submit", Role.DISPATCHER, {})],
    "approved": [("submit", Role.DISPATCHER, {}), ("approve", Role.MANAGER, {})],
    "rejected": [("submit", Role.DISPATCHER, {}), ("reject", Role.MANAGER, {"note": "dup"})],
    "cancelled": [("cancel", Role.DISPATCHER, {"note": "customer withdrew"})],
}
_FIELD = [("submit", Role.DISPATCHER, {}), ("approve", Role.MANAGER, {}),
          ("assign", Role.DISPATCHER, {"assignee_id": None}),
          ("checklist", Role.TECHNICIAN, {"tools": True, "spare_terminals": True, "sims": True,
                                          "documents": True}),
          ("depart", Role.TECHNICIAN, {}), ("arrive", Role.TECHNICIAN, {}),
          ("report", Role.TECHNICIAN, {"diagnosis": "loose power lead",
                                       "actions_taken": "crimped a new connector"}),
          ("complete", Role.TECHNICIAN, {}), ("close", Role.DISPATCHER, {})]
for _state, _length in (("assigned", 3), ("en_route", 5), ("on_site", 6), ("completed", 8),
                        ("closed", 9)):
    _PATH[_state] = _FIELD[:_length]
ORDER_STATES = tuple(_PATH)


async def repair_order_in_state(client: httpx.AsyncClient, staff: dict[Role, Staff],
                                state: str, customer_id: int) -> dict[str, Any]:
    """A repair order (customer only, no vehicle) walked to ``state`` through the API; field
    work by ``staff[Role.TECHNICIAN]``."""
    order = ok(await client.post("/api/work-orders", headers=staff[Role.DISPATCHER].headers,
                                 json={"type": "repair", "source": "customer_call",
                                       "customer_id": customer_id,
                                       "symptoms": "terminal beeps"}), 201)
    for action, role, body in _PATH[state]:
        if "assignee_id" in body:
            body = {"assignee_id": staff[Role.TECHNICIAN].id}
        order = await act(client, order, action, staff[role], **body)
    assert order["state"] == state
    return order


# --- the rest of issue 3: parts, repairs on site, billing ---------------------------------

CHECKLIST = {"tools": True, "spare_terminals": True, "sims": True, "documents": True}


async def make_part(client: httpx.AsyncClient, headers: dict[str, str], *,
                    unit_price: str = "12.50", **fields: Any) -> dict[str, Any]:
    body = {"code": unique("P-"), "name": "GPS antenna", "unit_price": unit_price, **fields}
    return ok(await client.post("/api/parts", json=body, headers=headers), 201)


async def set_warranty(client: httpx.AsyncClient, staff: dict[Role, Staff], terminal: str,
                       months: int) -> None:
    installer = staff[Role.INSTALLER]
    current = ok(await client.get(f"/api/terminals/{terminal}", headers=installer.headers))
    ok(await client.patch(f"/api/terminals/{terminal}", headers=installer.headers,
                          json={"version": current["version"], "warranty_months": months}))


async def repair_on_site(client: httpx.AsyncClient, staff: dict[Role, Staff],
                         site: dict[str, Any], *, technician: Staff | None = None,
                         priority: str = "normal") -> dict[str, Any]:
    """A repair order for ``site``'s vehicle, walked to on_site by ``technician``."""
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    technician = technician or staff[Role.TECHNICIAN]
    order = ok(await client.post("/api/work-orders", headers=dispatcher.headers, json={
        "type": "repair", "source": "customer_call", "priority": priority,
        "vehicle_id": site["vehicle"]["id"], "symptoms": "no position"}), 201)
    order = await act(client, order, "submit", dispatcher)
    order = await act(client, order, "approve", manager)
    order = await act(client, order, "assign", dispatcher, assignee_id=technician.id)
    order = await act(client, order, "checklist", technician, **CHECKLIST)
    order = await act(client, order, "depart", technician)
    return await act(client, order, "arrive", technician)


async def use_part(client: httpx.AsyncClient, order: dict[str, Any], technician: Staff,
                   code: str, quantity: int = 1, status: int = 201) -> dict[str, Any]:
    """Record a part on ``order`` (its version is updated in place)."""
    answer = ok(await client.post(f"/api/work-orders/{order['id']}/parts",
                                  headers=technician.headers,
                                  json={"version": order["version"], "part_code": code,
                                        "quantity": quantity}), status)
    if status == 201:
        order["version"] = answer["order_version"]
    return answer
