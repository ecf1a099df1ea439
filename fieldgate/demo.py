"""``fieldgate demo``: the whole system on one machine, with a simulated fleet.

What happens, in order:

1. the schema is created (SQLite file by default: no server needed);
2. one user per role is created (password ``fieldgate-demo``);
3. everything starts: gateway (TCP), telemetry writer, REST API and pages, periodic jobs;
4. through the REST API, like people at their desks: a dispatcher enters customers and their
   vehicles, an installer files install requests, the manager approves them, the dispatcher
   assigns the installer, who goes on site and registers a terminal and SIM on each vehicle;
5. simulated terminals (``simulators.Fleet``) start reporting over TCP, a few with faults
   injected, and one more that nobody registered (it shows up as an unregistered terminal);
6. the installer completes each install order as soon as the server accepts it, which is when
   the gateway has stored a fix from that terminal after its registration: the first valid fix
   proves the install.

It runs until Ctrl-C. Nothing here is used by ``fieldgate serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from fieldgate.serve import Running
from fieldservice.actors import Actor
from fieldservice.api.state import app_state
from fieldservice.db import set_actor
from fieldservice.errors import Conflict
from fieldservice.roles import Role
from fieldservice.schemas.people import UserCreate
from fieldservice.services.users import create_user
from simulators import Fleet, TcpTransport, parse_fault
from telemetry.health.config import (
    ChecksumErrorThresholds,
    HealthConfig,
    NoFixThresholds,
    OfflineThresholds,
    PositionJumpThresholds,
    ReconnectStormThresholds,
)

log = logging.getLogger("fieldgate.demo")

PASSWORD = "fieldgate-demo"
USERS = {
    Role.ADMIN: "admin", Role.MANAGER: "manager", Role.DISPATCHER: "dispatcher",
    Role.INSTALLER: "installer", Role.TECHNICIAN: "technician", Role.FINANCE: "finance",
    Role.TESTER: "tester",
}
CUSTOMERS = (
    ("Northwind Logistics", "Anna Keller", "+49 30 5550 1001", "Hafenstrasse 4, Berlin"),
    ("Spree Taxi eG", "Jonas Brandt", "+49 30 5550 2002", "Taxiweg 12, Berlin"),
    ("Havel Bau GmbH", "Mira Schulz", "+49 30 5550 3003", "Baustellenring 7, Potsdam"),
)
#: faults that make the fleet page and the health views worth watching, by terminal index
FAULTS = (
    "{2}/no_fix@45s+90s",
    "{4}/silent:drop@60s+120s",
    "{6}/checksum:0.3@20s+120s",
    "{8}/storm:every=3s@90s+30s",
    "{3}/jump:8km@75s",
)


def demo_health() -> HealthConfig:
    """Fault rules quick enough to watch: the injected faults open and clear within minutes
    (production defaults wait several minutes before opening; docs/health.md)."""
    return HealthConfig(rules={
        "offline": OfflineThresholds(open_after_s=30, clear_after_s=20, recovery_gap_s=10),
        "no_fix": NoFixThresholds(open_after_s=20, clear_after_s=20),
        "checksum_errors": ChecksumErrorThresholds(open_after_s=15, clear_after_s=30,
                                                   min_lines=20),
        "reconnect_storm": ReconnectStormThresholds(count=5, window_s=60, clear_after_s=60),
        "position_jump": PositionJumpThresholds(count=1, clear_after_s=60),
    }, tick_s=1.0, sweep_every_s=5.0)


@dataclass(slots=True)
class DemoPlan:
    terminals: int = 12
    faults: bool = True
    gateway_host: str = "127.0.0.1"
    #: terminal ids of the simulated fleet: the last one is never registered
    ids: list[str] = field(default_factory=list)
    #: JT/T 808 and GT06 terminals (phone numbers, IMEIs), all registered; empty: none
    jt808_ids: list[str] = field(default_factory=list)
    gt06_ids: list[str] = field(default_factory=list)


#: what the binary-protocol terminals report in their alarm words (the first of each fleet)
BINARY_FAULTS = {"jt808": ("{0}/power_cut@40s+90s",), "gt06": ("{0}/sos@70s",)}


async def create_users(app: Any) -> None:
    """One user per role, password ``fieldgate-demo``; existing ones are left as they are."""
    state = app_state(app)
    for role, name in USERS.items():
        async with state.sessions() as session:
            set_actor(session, Actor.system("demo"))
            try:
                await create_user(session, passwords=state.passwords, data=UserCreate(
                    username=name, password=PASSWORD, role=role,
                    full_name=f"Demo {role.value}", zone="Berlin", skills=["T55", "install"]))
                await session.commit()
            except Conflict:
                await session.rollback()


class _Desk:
    """The API as the office uses it: one logged-in client per role."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.headers: dict[Role, dict[str, str]] = {}
        self.user_ids: dict[Role, int] = {}

    async def login(self) -> None:
        for role, name in USERS.items():
            r = await self.client.post("/api/auth/token",
                                       data={"username": name, "password": PASSWORD})
            r.raise_for_status()
            self.headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            me = await self.call("GET", "/api/users/me", role)
            self.user_ids[role] = me["id"]

    async def call(self, method: str, path: str, role: Role, *, ok: tuple[int, ...] = (200, 201),
                   **kwargs: Any) -> Any:
        r = await self.client.request(method, path, headers=self.headers[role], **kwargs)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path} as {role}: {r.status_code} {r.text}")
        return r.json()

    async def act(self, order: dict[str, Any], action: str, role: Role,
                  **body: Any) -> dict[str, Any]:
        return await self.call("POST", f"/api/work-orders/{order['id']}/{action}", role,
                               json={"version": order["version"], **body})


async def seed(desk: _Desk, ids: list[str]) -> list[tuple[dict[str, Any], str]]:
    """Customers, vehicles and install orders up to "terminal registered on site", through
    the API; returns the orders waiting for their terminal's first fix."""
    customers = []
    for company, contact, phone, address in CUSTOMERS:
        customers.append(await desk.call("POST", "/api/customers", Role.DISPATCHER, json={
            "company": company, "contact_name": contact, "phone": phone, "address": address}))
    waiting = []
    for i, tid in enumerate(ids):
        customer = customers[i % len(customers)]
        request = await desk.call("POST", "/api/install-requests", Role.INSTALLER, json={
            "customer_id": customer["id"],
            "vehicles": [{"plate": f"B-FG {1000 + i}", "driver_name": f"Driver {i + 1}",
                          "driver_phone": f"+49 170 555 {1000 + i}"}]})
        await desk.call("POST", f"/api/install-requests/{request['id']}/approve", Role.MANAGER,
                        json={"version": request["version"]})
        order = await desk.call("GET", f"/api/work-orders/{request['orders'][0]['id']}",
                                Role.DISPATCHER)
        order = await desk.act(order, "assign", Role.DISPATCHER,
                               assignee_id=desk.user_ids[Role.INSTALLER])
        order = await desk.act(order, "depart", Role.INSTALLER)
        order = await desk.act(order, "arrive", Role.INSTALLER)
        model = "JT808" if tid.startswith("139") else "GT06" if tid.startswith("864") else "T55"
        order = await desk.act(order, "register-terminal", Role.INSTALLER, terminal_id=tid,
                               iccid=f"898600{i + 1:013d}", model=model)
        waiting.append((order, tid))
    if waiting:
        # a customer's call, dispatched at once: the technician's screen has work from the start
        first = waiting[0][0]
        repair = await desk.call("POST", "/api/work-orders", Role.DISPATCHER, json={
            "type": "repair", "source": "customer_call", "priority": "urgent",
            "vehicle_id": first["vehicle_id"],
            "symptoms": "driver reports the tracker's status light is off",
            "suggested_action": "check the terminal's power wiring and fuse"})
        repair = await desk.act(repair, "submit", Role.DISPATCHER)
        repair = await desk.act(repair, "approve", Role.MANAGER)
        await desk.act(repair, "assign", Role.DISPATCHER,
                       assignee_id=desk.user_ids[Role.TECHNICIAN])
    return waiting


async def complete_installs(desk: _Desk, waiting: list[tuple[dict[str, Any], str]],
                            say: Callable[[str], None]) -> None:
    """The installer presses "complete" until the server accepts: once the gateway stored a
    fix of that terminal received after its registration."""
    while waiting:
        still = []
        for order, tid in waiting:
            r = await desk.client.post(f"/api/work-orders/{order['id']}/complete",
                                       json={"version": order["version"]},
                                       headers=desk.headers[Role.INSTALLER])
            if r.status_code == 200:
                say(f"install {order['number']} completed: first fix from {tid} received")
            elif r.status_code == 409:
                still.append((order, tid))
            else:
                raise RuntimeError(f"completing {order['number']}: {r.status_code} {r.text}")
        waiting = still
        if waiting:
            await asyncio.sleep(2)


def fleet_faults(plan: DemoPlan) -> list:
    if not plan.faults:
        return []
    out = []
    for spec in FAULTS:
        index = int(spec[1 : spec.index("}")])
        if index < len(plan.ids):
            out.append(parse_fault(spec.replace(f"{{{index}}}", plan.ids[index])))
    return out


async def run_demo(stack: Running, plan: DemoPlan, *, gateway_port: int,
                   ports: dict[str, int] | None = None,
                   say: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
    """Seed through the API, start the simulated fleets (NMEA, and JT/T 808 and GT06 on their
    ``ports``), complete installs; then the fleets drive on until cancelled."""
    await create_users(stack.app)
    binary = {"jt808": plan.jt808_ids, "gt06": plan.gt06_ids}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        desk = _Desk(client)
        await desk.login()
        registered = plan.ids[:-1]  # the last terminal is never registered
        waiting = await seed(desk, registered + plan.jt808_ids + plan.gt06_ids)
        say(f"seeded {len(CUSTOMERS)} customers and {len(waiting)} install orders "
            f"(on site, terminal registered, waiting for its first fix), and one urgent "
            f"repair assigned to the technician")
        transport = TcpTransport(plan.gateway_host, gateway_port)
        async with contextlib.AsyncExitStack() as fleets:
            await fleets.enter_async_context(Fleet(
                transport=transport, terminals=len(plan.ids), id_prefix="SIM",
                faults=fleet_faults(plan), seed=7))
            say(f"simulated fleet: {len(plan.ids)} terminals reporting every second over TCP "
                f"to {plan.gateway_host}:{gateway_port}; {plan.ids[-1]} is not registered")
            for protocol, ids in binary.items():
                if not ids or not ports or protocol not in ports:
                    continue
                prefix = ids[0][:-4]
                faults = [parse_fault(f.format(*ids)) for f in BINARY_FAULTS[protocol]
                          ] if plan.faults else []
                await fleets.enter_async_context(Fleet(
                    transport=TcpTransport(plan.gateway_host, ports[protocol],
                                           protocol=protocol),
                    terminals=len(ids), id_prefix=prefix, faults=faults, seed=11, interval=2.0))
                say(f"simulated {protocol} terminals: {', '.join(ids)} reporting every 2 s to "
                    f"{plan.gateway_host}:{ports[protocol]}")
            await complete_installs(desk, waiting, say)
            say("every install completed; the fleet drives on (faults come and go)")
            await asyncio.Event().wait()  # until the demo is stopped


def banner(stack: Running) -> str:
    users = ", ".join(f"{name}" for name in USERS.values())
    return (f"\nfieldgate demo is running\n"
            f"  web app:     {stack.api_url}/   (sign in as technician or dispatcher, "
            f"password {PASSWORD})\n"
            f"  fleet table: {stack.api_url}/fleet\n"
            f"  API docs:    {stack.api_url}/docs\n"
            f"  metrics:     {stack.api_url}/metrics (any user's token)\n"
            f"  gateway:     {stack.gateway.describe()}\n"
            f"  users:       {users} (password '{PASSWORD}')\n"
            f"{_reach(stack.api_url)}"
            f"Ctrl-C stops it.\n")


def _reach(url: str) -> str:
    """Who can open the demo: its users share one well-known password."""
    host = url.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
    if host in ("127.0.0.1", "localhost", "::1"):
        return ("  reachable:   from this machine only (loopback); --host 0.0.0.0 opens it to "
                "the network, with the demo's shared password\n")
    return (f"  reachable:   from the network on {host}: every demo user has the same "
            f"password\n")

