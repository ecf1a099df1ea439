"""Resources: create, read, update, retire, list with paging and filters."""

from __future__ import annotations

from datetime import timedelta

from fieldservice.roles import Role
from fieldservice.timestamps import utcnow
from tests.fieldservice.factories import (
    iccid,
    make_customer,
    make_staff,
    make_terminal,
    make_vehicle,
    ok,
    repair_order_in_state,
    terminal_id,
)


async def test_customers_and_vehicles(client, staff):
    dispatcher, installer = staff[Role.DISPATCHER], staff[Role.INSTALLER]
    customers = [await make_customer(client, dispatcher.headers, company=f"Fleet {name}")
                 for name in ("Alpha", "Beta", "Gamma")]
    page = ok(await client.get("/api/customers", params={"limit": 2, "offset": 1},
                               headers=installer.headers))
    assert (page["total"], [c["company"] for c in page["items"]]) == (3, ["Fleet Beta",
                                                                          "Fleet Gamma"])
    found = ok(await client.get("/api/customers", params={"q": "gam"}, headers=installer.headers))
    assert [c["id"] for c in found["items"]] == [customers[2]["id"]]
    retired = ok(await client.patch(f"/api/customers/{customers[1]['id']}",
                                    headers=dispatcher.headers,
                                    json={"version": customers[1]["version"], "active": False}))
    assert retired["active"] is False and retired["version"] == 2
    active = ok(await client.get("/api/customers", params={"active": "true"},
                                 headers=installer.headers))
    assert active["total"] == 2
    refused = await client.post("/api/vehicles", headers=dispatcher.headers,
                                json={"customer_id": customers[1]["id"], "plate": "RET1"})
    assert refused.status_code == 409 and "deactivated" in refused.json()["detail"]

    vehicle = await make_vehicle(client, dispatcher.headers, customers[0]["id"], plate="ab 123",
                                 vin="LSVAU2180N2183294")
    assert vehicle["plate"] == "AB123" and vehicle["customer_company"] == "Fleet Alpha"
    for body, text in (({"plate": "AB 123"}, "plate AB123 is already registered"),
                       ({"plate": "CD1", "vin": "LSVAU2180N2183294"}, "VIN LSVAU2180N2183294")):
        answer = await client.post("/api/vehicles", headers=dispatcher.headers,
                                   json={"customer_id": customers[0]["id"], **body})
        assert answer.status_code == 409 and text in answer.json()["detail"]
    moved = ok(await client.patch(f"/api/vehicles/{vehicle['id']}", headers=installer.headers,
                                  json={"version": vehicle["version"],
                                        "customer_id": customers[2]["id"],
                                        "driver_name": "Liu Yang"}))
    assert (moved["customer_company"], moved["driver_name"]) == ("Fleet Gamma", "Liu Yang")
    by_plate = ok(await client.get("/api/vehicles", params={"plate": "ab 123"},
                                   headers=dispatcher.headers))
    assert [v["id"] for v in by_plate["items"]] == [vehicle["id"]]
    of_customer = ok(await client.get("/api/vehicles",
                                      params={"customer_id": customers[0]["id"]},
                                      headers=dispatcher.headers))
    assert of_customer["total"] == 0
    assert (await client.get("/api/vehicles/999", headers=dispatcher.headers)).status_code == 404


async def test_terminals_and_sims_registry(client, staff):
    installer, technician = staff[Role.INSTALLER], staff[Role.TECHNICIAN]
    card = iccid()
    terminal = await make_terminal(client, installer.headers, iccid=card, msisdn="8613800000001",
                                   purchase_date="2025-01-15", warranty_months=24)
    assert (terminal["state"], terminal["iccid"], terminal["in_warranty"]) == (
        "in_stock", card, False)
    assert terminal["installed_on"] is None
    sim = ok(await client.get(f"/api/sims/{card}", headers=technician.headers))
    assert (sim["state"], sim["terminal_id"]) == ("active", terminal["terminal_id"])
    again = await client.post("/api/terminals", headers=installer.headers,
                              json={"terminal_id": terminal["terminal_id"]})
    assert again.status_code == 409
    # the SIM is in that terminal: another may not take it
    taken = await client.post("/api/terminals", headers=installer.headers,
                              json={"terminal_id": terminal_id(), "iccid": card})
    assert taken.status_code == 409 and "is in terminal" in taken.json()["detail"]
    half = await client.post("/api/terminals", headers=installer.headers,
                             json={"terminal_id": terminal_id(), "msisdn": "8613800000002"})
    assert half.status_code == 422 and "give its iccid" in half.json()["detail"]

    for state, status in (("installed", 422), ("returned", 200)):
        answer = await client.patch(f"/api/terminals/{terminal['terminal_id']}",
                                    headers=installer.headers,
                                    json={"version": terminal["version"], "state": state})
        assert answer.status_code == status, answer.text
    spare = ok(await client.post("/api/sims", headers=installer.headers,
                                 json={"iccid": iccid(), "carrier": "CUCC"}), 201)
    assert (spare["state"], spare["terminal_id"]) == ("in_stock", None)
    assert (await client.post("/api/sims", headers=installer.headers,
                              json={"iccid": spare["iccid"]})).status_code == 409
    bound = await client.patch(f"/api/sims/{card}", headers=installer.headers,
                               json={"version": sim["version"], "state": "deactivated"})
    assert bound.status_code == 409
    listed = ok(await client.get("/api/sims", params={"carrier": "CUCC"},
                                 headers=technician.headers))
    assert [s["iccid"] for s in listed["items"]] == [spare["iccid"]]
    listed = ok(await client.get("/api/terminals", params={"state": "returned"},
                                 headers=technician.headers))
    assert [t["terminal_id"] for t in listed["items"]] == [terminal["terminal_id"]]
    assert (await client.post("/api/terminals", headers=technician.headers,
                              json={"terminal_id": terminal_id()})).status_code == 403


async def test_work_order_list_filters(app, client, staff):
    dispatcher = staff[Role.DISPATCHER]
    first, second = [await make_customer(client, dispatcher.headers) for _ in range(2)]
    a = await repair_order_in_state(client, staff, "assigned", first["id"])
    b = await repair_order_in_state(client, staff, "new", first["id"])
    c = await repair_order_in_state(client, staff, "approved", second["id"])

    async def ids(**params):
        page = ok(await client.get("/api/work-orders", params=params,
                                   headers=dispatcher.headers))
        return sorted(o["id"] for o in page["items"])

    assert await ids(customer_id=first["id"]) == sorted([a["id"], b["id"]])
    assert await ids(state=["new", "approved"]) == sorted([b["id"], c["id"]])
    assert await ids(assignee_id=staff[Role.TECHNICIAN].id) == [a["id"]]
    assert await ids(number=c["number"]) == [c["id"]]
    now = utcnow()
    assert await ids(created_from=(now - timedelta(minutes=5)).isoformat(),
                     created_to=(now + timedelta(minutes=5)).isoformat()) == sorted(
        [a["id"], b["id"], c["id"]])
    assert await ids(created_to=(now - timedelta(minutes=5)).isoformat()) == []
    page = ok(await client.get("/api/work-orders", params={"limit": 1},
                               headers=dispatcher.headers))
    assert (page["total"], len(page["items"]), page["items"][0]["id"]) == (3, 1, c["id"])


async def test_technicians_show_skills_zone_and_load(app, client, staff):
    dispatcher = staff[Role.DISPATCHER]
    north = await make_staff(app, client, Role.TECHNICIAN, skills=["can-bus"], zone="north")
    customer = await make_customer(client, dispatcher.headers)
    await repair_order_in_state(client, staff, "assigned", customer["id"])
    await repair_order_in_state(client, staff, "on_site", customer["id"])
    techs = ok(await client.get("/api/technicians", headers=dispatcher.headers))
    # least loaded first
    loads = [(t["username"], t["active_orders"]) for t in techs]
    assert loads[-1] == (staff[Role.TECHNICIAN].username, 2)
    assert (north.username, 0) in loads
    busy = techs[-1]
    assert busy["orders_by_state"] == {"assigned": 1, "on_site": 1}
    found = ok(await client.get("/api/technicians", params={"skill": "can-bus",
                                                             "zone": "north"},
                                headers=dispatcher.headers))
    assert [(t["username"], t["skills"], t["zone"]) for t in found] == [
        (north.username, ["can-bus"], "north")]


async def test_users_admin(client, staff):
    admin = staff[Role.ADMIN]
    user = ok(await client.post("/api/users", headers=admin.headers, json={
        "username": "kim", "password": "kim's password", "role": "installer",
        "skills": ["install"], "zone": "east"}), 201)
    assert (user["role"], user["active"]) == ("installer", True)
    assert (await client.post("/api/users", headers=admin.headers, json={
        "username": "kim", "password": "another one", "role": "tester"})).status_code == 409
    installers = ok(await client.get("/api/users", params={"role": "installer"},
                                     headers=admin.headers))
    assert {u["username"] for u in installers["items"]} == {"kim",
                                                            staff[Role.INSTALLER].username}
    assert (await client.get("/api/users", headers=staff[Role.MANAGER].headers)).status_code \
        == 403


async def test_install_request_rejection_and_foreign_plates(client, staff):
    dispatcher, installer, manager = (staff[Role.DISPATCHER], staff[Role.INSTALLER],
                                      staff[Role.MANAGER])
    owner, other = [await make_customer(client, dispatcher.headers) for _ in range(2)]
    vehicle = await make_vehicle(client, dispatcher.headers, owner["id"])
    refused = await client.post("/api/install-requests", headers=installer.headers, json={
        "customer_id": other["id"], "vehicles": [{"plate": vehicle["plate"]}]})
    assert refused.status_code == 409
    assert "registered to another customer" in refused.json()["detail"]
    request = ok(await client.post("/api/install-requests", headers=installer.headers, json={
        "customer_id": owner["id"], "vehicles": [{"plate": vehicle["plate"]}]}), 201)
    assert request["orders"][0]["vehicle_id"] == vehicle["id"]
    rejected = ok(await client.post(f"/api/install-requests/{request['id']}/reject",
                                    headers=manager.headers,
                                    json={"version": request["version"], "note": "no budget"}))
    assert rejected["decision"] == "rejected"
    assert rejected["orders"][0]["state"] == "rejected"
    again = await client.post(f"/api/install-requests/{request['id']}/approve",
                              headers=manager.headers, json={"version": rejected["version"]})
    assert again.status_code == 409
    listed = ok(await client.get("/api/install-requests", params={"customer_id": owner["id"]},
                                 headers=dispatcher.headers))
    assert [r["id"] for r in listed["items"]] == [request["id"]]
