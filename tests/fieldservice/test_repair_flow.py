"""Repair orders end to end: checklist, diagnosis, terminal and SIM swaps, swap history."""

from __future__ import annotations

from datetime import timedelta

from fieldservice.actors import Actor
from fieldservice.api.state import app_state
from fieldservice.db import set_actor
from fieldservice.models import Source, WorkOrderType
from fieldservice.roles import Role
from fieldservice.schemas.work_orders import WorkOrderCreate
from fieldservice.services.work_orders import create_work_order
from fieldservice.timestamps import parse_timestamp, utcnow
from tests.fieldservice.factories import (
    act,
    get_order,
    iccid,
    installed_vehicle,
    ok,
    terminal_id,
)

CHECKLIST = {"tools": True, "spare_terminals": True, "sims": True, "documents": True}


async def _open_repair(client, staff, site, **fields):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    body = {"type": "repair", "source": "customer_call", "priority": "urgent",
            "vehicle_id": site["vehicle"]["id"],
            "symptoms": "no position since Monday", **fields}
    order = ok(await client.post("/api/work-orders", json=body, headers=dispatcher.headers), 201)
    order = await act(client, order, "submit", dispatcher)
    order = await act(client, order, "approve", manager)
    return order


async def _hardware(client, staff, vehicle_id, at):
    return ok(await client.get(f"/api/vehicles/{vehicle_id}/hardware",
                               params={"at": at.isoformat()},
                               headers=staff[Role.DISPATCHER].headers))


async def test_repair_with_sim_and_terminal_swap(app, client, staff):
    dispatcher, technician, installer = (staff[Role.DISPATCHER], staff[Role.TECHNICIAN],
                                         staff[Role.INSTALLER])
    site = await installed_vehicle(app, client, staff)
    old_tid, old_card = site["terminal_id"], site["iccid"]
    terminal = ok(await client.get(f"/api/terminals/{old_tid}", headers=installer.headers))
    ok(await client.patch(f"/api/terminals/{old_tid}", headers=installer.headers,
                          json={"version": terminal["version"], "purchase_date": "2025-03-01"}))

    order = await _open_repair(client, staff, site)
    # the order knows the customer, site, installed terminal and its model and purchase date
    assert (order["customer_id"], order["terminal_id"]) == (site["customer"]["id"], old_tid)
    assert (order["terminal_model"], order["purchase_date"]) == ("T55", "2025-03-01")
    assert order["address"] == site["customer"]["address"]
    assert order["contact_phone"] == site["customer"]["phone"]

    refused = await act(client, order, "assign", dispatcher, 409, assignee_id=installer.id)
    assert refused["reasons"] == [f"repairs go to technicians; {installer.username} is an "
                                  "installer"]
    order = await act(client, order, "assign", dispatcher, assignee_id=technician.id)

    refused = await act(client, order, "depart", technician, 409)
    assert refused["reasons"] == ["confirm the checklist first (unchecked: tools, "
                                  "spare_terminals, sims, documents)"]
    order = await act(client, order, "checklist", technician, tools=True, sims=True)
    assert order["checklist_confirmed_at"] is None
    refused = await act(client, order, "depart", technician, 409)
    assert "unchecked: spare_terminals, documents" in refused["detail"]
    order = await act(client, order, "checklist", technician, **CHECKLIST)
    assert order["checklist_confirmed_at"] is not None
    order = await act(client, order, "depart", technician)
    order = await act(client, order, "arrive", technician)
    refused = await act(client, order, "complete", technician, 409)
    assert refused["reasons"] == ["record the diagnosis and actions_taken first"]

    # SIM swap first: the old card is dead
    new_card = iccid()
    order = await act(client, order, "sim-swap", technician, old_iccid=old_card,
                      new_iccid=new_card, carrier="CMCC", reason="SIM not registering")
    # then the terminal itself: the new unit takes the new SIM over
    new_tid = terminal_id()
    order = await act(client, order, "terminal-swap", technician, old_terminal_id=old_tid,
                      new_terminal_id=new_tid, new_model="T55B")
    assert order["terminal_id"] == new_tid

    order = await act(client, order, "report", technician, diagnosis="GPS module dead, SIM "
                      "worn", actions_taken="replaced SIM, then terminal")
    order = await act(client, order, "complete", technician)
    order = await act(client, order, "close", dispatcher)
    assert order["state"] == "closed"

    swaps = ok(await client.get(f"/api/work-orders/{order['id']}/swaps",
                                headers=technician.headers))
    assert [(s["kind"], s["old"], s["new"]) for s in swaps] == [
        ("sim", old_card, new_card), ("terminal", old_tid, new_tid)]
    sim_swap_at, terminal_swap_at = (parse_timestamp(s["at"]) for s in swaps)

    old = ok(await client.get(f"/api/terminals/{old_tid}", headers=installer.headers))
    assert (old["state"], old["vehicle"], old["iccid"]) == ("faulty", None, None)
    assert old["fault_label"].startswith(f"{site['vehicle']['plate']}: no position since Monday")
    assert order["number"] in old["fault_label"]
    new = ok(await client.get(f"/api/terminals/{new_tid}", headers=installer.headers))
    assert (new["state"], new["iccid"], new["model"]) == ("installed", new_card, "T55B")
    assert new["installed_on"] == terminal_swap_at.date().isoformat()
    dead = ok(await client.get(f"/api/sims/{old_card}", headers=installer.headers))
    assert (dead["state"], dead["terminal_id"]) == ("faulty", None)

    vehicle_id = site["vehicle"]["id"]
    before = await _hardware(client, staff, vehicle_id, sim_swap_at - timedelta(milliseconds=1))
    between = await _hardware(client, staff, vehicle_id,
                              sim_swap_at + (terminal_swap_at - sim_swap_at) / 2)
    after = await _hardware(client, staff, vehicle_id, terminal_swap_at)
    assert (before["terminal"]["terminal_id"], before["sim"]["iccid"]) == (old_tid, old_card)
    assert (between["terminal"]["terminal_id"], between["sim"]["iccid"]) == (old_tid, new_card)
    assert (after["terminal"]["terminal_id"], after["sim"]["iccid"]) == (new_tid, new_card)


async def test_which_sim_was_in_the_vehicles_terminal_at_time_t(app, client, staff):
    """Three SIMs in one terminal over time: the endpoint names the right one at each instant,
    and nothing before the install."""
    technician = staff[Role.TECHNICIAN]
    site = await installed_vehicle(app, client, staff)
    vehicle_id, tid = site["vehicle"]["id"], site["terminal_id"]
    installed_at = parse_timestamp(site["order"]["registered_at"])
    cards = [site["iccid"]]
    for _ in range(2):
        order = await _open_repair(client, staff, site, symptoms="reconnect storm")
        order = await act(client, order, "assign", staff[Role.DISPATCHER],
                          assignee_id=technician.id)
        order = await act(client, order, "checklist", technician, **CHECKLIST)
        order = await act(client, order, "depart", technician)
        order = await act(client, order, "arrive", technician)
        cards.append(iccid())
        await act(client, order, "sim-swap", technician, old_iccid=cards[-2], new_iccid=cards[-1],
                  old_sim_state="in_stock")

    history = ok(await client.get(f"/api/vehicles/{vehicle_id}/history",
                                  headers=staff[Role.DISPATCHER].headers))
    assert [s["iccid"] for s in history["sims"]] == cards
    assert [(s["kind"], s["old"], s["new"]) for s in history["swaps"]] == [
        ("sim", cards[0], cards[1]), ("sim", cards[1], cards[2])]
    periods = history["sims"]
    for period, card in zip(periods, cards, strict=True):
        start = parse_timestamp(period["valid_from"])
        for at in (start, start + timedelta(microseconds=1)):
            found = await _hardware(client, staff, vehicle_id, at)
            assert (found["terminal"]["terminal_id"], found["sim"]["iccid"]) == (tid, card)
        if period["valid_to"]:
            end = parse_timestamp(period["valid_to"]) - timedelta(microseconds=1)
            found = await _hardware(client, staff, vehicle_id, end)
            assert found["sim"]["iccid"] == card
    nothing = await _hardware(client, staff, vehicle_id, installed_at - timedelta(seconds=1))
    assert (nothing["terminal"], nothing["sim"]) == (None, None)
    # a naive time is UTC, and the default instant is now
    now = ok(await client.get(f"/api/vehicles/{vehicle_id}/hardware",
                              headers=staff[Role.DISPATCHER].headers))
    assert now["sim"]["iccid"] == cards[-1]
    sims = ok(await client.get(f"/api/sims/{cards[1]}/history",
                               headers=staff[Role.DISPATCHER].headers))
    assert [(p["terminal_id"], p["valid_to"] is not None) for p in sims] == [(tid, True)]


async def test_swap_refusals(app, client, staff):
    dispatcher, technician = staff[Role.DISPATCHER], staff[Role.TECHNICIAN]
    site = await installed_vehicle(app, client, staff)
    other = await installed_vehicle(app, client, staff)
    order = await _open_repair(client, staff, site)
    order = await act(client, order, "assign", dispatcher, assignee_id=technician.id)
    # swaps are on-site work
    await act(client, order, "sim-swap", technician, 409, old_iccid=site["iccid"],
              new_iccid=iccid())
    order = await act(client, order, "checklist", technician, **CHECKLIST)
    order = await act(client, order, "depart", technician)
    order = await act(client, order, "arrive", technician)

    cases = [
        ({"old_terminal_id": other["terminal_id"], "new_terminal_id": terminal_id()}, 409,
         "not in this order's vehicle"),
        ({"old_terminal_id": site["terminal_id"], "new_terminal_id": other["terminal_id"]}, 409,
         "is installed, not in stock"),
        ({"old_terminal_id": site["terminal_id"], "new_terminal_id": site["terminal_id"]}, 422,
         "must differ"),
        ({"old_terminal_id": "nosuch1", "new_terminal_id": terminal_id()}, 422,
         "no such terminal"),
    ]
    for body, status, text in cases:
        refused = await act(client, order, "terminal-swap", technician, status, **body)
        assert text in refused["detail"], refused
    refused = await act(client, order, "sim-swap", technician, 409, old_iccid=other["iccid"],
                        new_iccid=iccid())
    assert f"is not in terminal {site['terminal_id']} (it holds {site['iccid']})" in \
        refused["detail"]
    refused = await act(client, order, "sim-swap", technician, 409, old_iccid=site["iccid"],
                        new_iccid=other["iccid"])
    assert f"is in terminal {other['terminal_id']}" in refused["detail"]
    # nothing of the refused attempts stuck
    history = ok(await client.get(f"/api/vehicles/{site['vehicle']['id']}/history",
                                  headers=dispatcher.headers))
    assert len(history["terminals"]) == 1 and len(history["sims"]) == 1
    assert history["swaps"] == []
    # an install order has no swaps, a repair order no registration
    refused = await act(client, order, "register-terminal", technician, 409,
                        terminal_id=terminal_id(), iccid=iccid())
    assert "applies to install orders" in refused["detail"]


async def test_auto_detected_repair_order_from_a_terminal_id(app, client, staff):
    """The entry point issue 4's health rules use: a system actor opens a repair order naming
    only the terminal; vehicle, customer and site follow from the registry."""
    site = await installed_vehicle(app, client, staff)
    state = app_state(app)
    async with state.sessions() as session:
        set_actor(session, Actor.system("health-rules"))
        order = await create_work_order(session, actor=Actor.system("health-rules"),
                                        data=WorkOrderCreate(
            type=WorkOrderType.REPAIR, source=Source.AUTO_DETECTED,
            terminal_id=site["terminal_id"], symptoms="offline for 14 min",
            suggested_action="check power, then SIM"))
        await session.commit()
    got = await get_order(client, order.id, staff[Role.DISPATCHER])
    assert (got["source"], got["state"], got["vehicle_id"], got["customer_id"]) == (
        "auto_detected", "new", site["vehicle"]["id"], site["customer"]["id"])
    assert got["suggested_action"] == "check power, then SIM"
    listed = ok(await client.get("/api/work-orders", params={
        "source": "auto_detected", "terminal_id": site["terminal_id"]},
        headers=staff[Role.DISPATCHER].headers))
    assert [o["id"] for o in listed["items"]] == [order.id]
    assert utcnow() - parse_timestamp(got["created_at"]) < timedelta(minutes=1)
