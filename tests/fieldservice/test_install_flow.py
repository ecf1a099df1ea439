"""Install dispatch end to end through the HTTP API, role by role (PostgreSQL and SQLite)."""

from __future__ import annotations

import re
from datetime import timedelta

from fieldservice.roles import Role
from fieldservice.timestamps import parse_timestamp, utcnow
from tests.fieldservice.factories import (
    act,
    get_order,
    iccid,
    make_customer,
    make_staff,
    ok,
    plate,
    record_fix,
    terminal_id,
)


async def _request(client, staff, customer, vehicles):
    body = {"customer_id": customer["id"], "contact_name": "Fleet desk",
            "contact_phone": "+86 10 5555 0199", "address": "Yard 7, Shunyi",
            "requested_date": "2026-12-01", "vehicles": vehicles}
    return await client.post("/api/install-requests", json=body,
                             headers=staff[Role.INSTALLER].headers)


async def test_install_request_to_closed_order(app, client, staff):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    installer, technician = staff[Role.INSTALLER], staff[Role.TECHNICIAN]
    customer = await make_customer(client, dispatcher.headers)
    vin = "LSVAU2180N2183294"
    req = ok(await _request(client, staff, customer, [
        {"plate": " jing a 12345 ", "vin": vin.lower(), "driver_name": "Wang Wu",
         "driver_phone": "+86 139 1111 2222"},
        {"plate": plate(), "contact_name": "Gate guard", "contact_phone": "+86 10 5555 0111"},
    ]), 201)
    assert [o["state"] for o in req["orders"]] == ["awaiting_approval"] * 2
    year = utcnow().year
    assert all(re.fullmatch(rf"WO-{year}-\d{{6}}", o["number"]) for o in req["orders"])
    assert req["orders"][0]["plate"] == "JINGA12345"
    order = await get_order(client, req["orders"][0]["id"], dispatcher)
    assert (order["type"], order["source"], order["contact_name"]) == (
        "install", "customer_call", "Fleet desk")
    vehicle = ok(await client.get(f"/api/vehicles/{order['vehicle_id']}",
                                  headers=dispatcher.headers))
    assert (vehicle["vin"], vehicle["driver_name"]) == (vin, "Wang Wu")

    # the technician sees none of it yet; finance may not approve
    listed = ok(await client.get("/api/work-orders", headers=technician.headers))
    assert listed["total"] == 0
    refused = await client.post(f"/api/install-requests/{req['id']}/approve",
                                json={"version": req["version"]},
                                headers=staff[Role.FINANCE].headers)
    assert refused.status_code == 403

    req = ok(await client.post(f"/api/install-requests/{req['id']}/approve",
                               json={"version": req["version"], "note": "budget ok"},
                               headers=manager.headers))
    assert req["decision"] == "approved"
    assert [o["state"] for o in req["orders"]] == ["approved"] * 2

    # the dispatcher sees field staff with their load, then assigns
    techs = ok(await client.get("/api/technicians", headers=dispatcher.headers))
    assert {t["username"] for t in techs} >= {installer.username, technician.username}
    order = await get_order(client, order["id"], dispatcher)
    order = await act(client, order, "assign", dispatcher, assignee_id=installer.id)
    assert (order["state"], order["assignee_username"]) == ("assigned", installer.username)
    techs = {t["username"]: t for t in
             ok(await client.get("/api/technicians", headers=dispatcher.headers))}
    assert techs[installer.username]["active_orders"] == 1
    assert techs[installer.username]["orders_by_state"] == {"assigned": 1}

    order = await act(client, order, "depart", installer)
    order = await act(client, order, "arrive", installer)
    refused = await act(client, order, "complete", installer, 409)
    assert refused["reasons"] == ["register the terminal and SIM on the vehicle first"]

    tid, card = terminal_id(), iccid()
    before = utcnow()
    order = await act(client, order, "register-terminal", installer, terminal_id=tid,
                      iccid=card, model="T55", msisdn="8613900001111", carrier="CMCC")
    assert order["terminal_id"] == tid and order["terminal_model"] == "T55"
    registered = parse_timestamp(order["registered_at"])
    assert registered >= before

    refused = await act(client, order, "complete", installer, 409)
    assert "no valid fix received from terminal" in refused["detail"]
    # a fix the gateway got before the registration proves nothing about this installation
    await record_fix(app, tid, received_at=registered - timedelta(minutes=1))
    await act(client, order, "complete", installer, 409)
    await record_fix(app, tid, received_at=utcnow() + timedelta(seconds=1))
    order = await act(client, order, "complete", installer)
    assert order["state"] == "completed"
    order = await act(client, order, "close", dispatcher, note="customer signed")
    assert order["state"] == "closed"

    terminal = ok(await client.get(f"/api/terminals/{tid}", headers=installer.headers))
    assert terminal["state"] == "installed"
    assert terminal["vehicle"]["plate"] == "JINGA12345"
    assert terminal["iccid"] == card
    assert terminal["installed_on"] == registered.date().isoformat()
    assert terminal["in_warranty"] is True
    sim = ok(await client.get(f"/api/sims/{card}", headers=installer.headers))
    assert (sim["state"], sim["terminal_id"], sim["carrier"]) == ("active", tid, "CMCC")

    history = ok(await client.get(f"/api/work-orders/{order['id']}/transitions",
                                  headers=manager.headers))
    assert [(t["action"], t["from_state"], t["to_state"], t["actor_name"]) for t in history] == [
        ("submit", "new", "awaiting_approval", installer.username),
        ("approve", "awaiting_approval", "approved", manager.username),
        ("assign", "approved", "assigned", dispatcher.username),
        ("depart", "assigned", "en_route", installer.username),
        ("arrive", "en_route", "on_site", installer.username),
        ("complete", "on_site", "completed", installer.username),
        ("close", "completed", "closed", dispatcher.username),
    ]
    assert history[1]["note"] == "budget ok" and history[-1]["note"] == "customer signed"


async def test_technician_sees_and_acts_only_on_his_orders(app, client, staff):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    mine, other = staff[Role.TECHNICIAN], await make_staff(app, client, Role.TECHNICIAN)
    customer = await make_customer(client, dispatcher.headers)
    req = ok(await _request(client, staff, customer, [{"plate": plate()}, {"plate": plate()}]),
             201)
    ok(await client.post(f"/api/install-requests/{req['id']}/approve",
                         json={"version": req["version"]}, headers=manager.headers))
    first, second = [await get_order(client, o["id"], dispatcher) for o in req["orders"]]
    first = await act(client, first, "assign", dispatcher, assignee_id=mine.id)
    second = await act(client, second, "assign", dispatcher, assignee_id=other.id)

    listed = ok(await client.get("/api/work-orders", headers=mine.headers))
    assert [o["id"] for o in listed["items"]] == [first["id"]]
    # asking for another's orders by filter still shows only his own
    listed = ok(await client.get(f"/api/work-orders?assignee_id={other.id}",
                                 headers=mine.headers))
    assert listed["total"] == 0
    response = await client.get(f"/api/work-orders/{second['id']}", headers=mine.headers)
    assert response.status_code == 403
    await act(client, second, "depart", mine, 403)
    await act(client, first, "depart", mine)


async def test_registration_conflicts_and_correction(app, client, staff):
    dispatcher, manager, installer = (staff[Role.DISPATCHER], staff[Role.MANAGER],
                                      staff[Role.INSTALLER])
    customer = await make_customer(client, dispatcher.headers)
    req = ok(await _request(client, staff, customer, [{"plate": plate()}, {"plate": plate()}]),
             201)
    ok(await client.post(f"/api/install-requests/{req['id']}/approve",
                         json={"version": req["version"]}, headers=manager.headers))
    orders = []
    for summary in req["orders"]:
        order = await get_order(client, summary["id"], dispatcher)
        order = await act(client, order, "assign", dispatcher, assignee_id=installer.id)
        order = await act(client, order, "depart", installer)
        orders.append(await act(client, order, "arrive", installer))
    first, second = orders

    # registration is field work for the order's assignee, on site, on install orders
    await act(client, first, "register-terminal", dispatcher, 403, terminal_id=terminal_id(),
              iccid=iccid())

    typo, right, card = terminal_id(), terminal_id(), iccid()
    first = await act(client, first, "register-terminal", installer, terminal_id=typo,
                      iccid=card)
    # the same terminal cannot go into the second vehicle as well
    refused = await act(client, second, "register-terminal", installer, 409, terminal_id=typo,
                        iccid=iccid())
    assert f"terminal {typo} is installed in vehicle" in refused["detail"]
    # nor the same SIM into another terminal
    refused = await act(client, second, "register-terminal", installer, 409,
                        terminal_id=terminal_id(), iccid=card)
    assert f"SIM {card} is in terminal {typo}" in refused["detail"]

    # the installer mistyped: registering the right id puts the wrong one back in stock
    first = await act(client, first, "register-terminal", installer, terminal_id=right,
                      iccid=card)
    assert first["terminal_id"] == right
    wrong = ok(await client.get(f"/api/terminals/{typo}", headers=installer.headers))
    assert (wrong["state"], wrong["vehicle"], wrong["iccid"]) == ("in_stock", None, None)
    good = ok(await client.get(f"/api/terminals/{right}", headers=installer.headers))
    assert good["state"] == "installed" and good["iccid"] == card
    history = ok(await client.get(f"/api/vehicles/{first['vehicle_id']}/history",
                                  headers=installer.headers))
    assert [(t["terminal_id"], t["valid_to"] is None) for t in history["terminals"]] == [
        (typo, False), (right, True)]
