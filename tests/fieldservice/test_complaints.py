"""Complaints: the first responder owns one until it is closed, hand-over keeps the owner, a
reply and a cause before closing, links to work orders, the quarterly report by cause."""

from __future__ import annotations

from datetime import UTC, datetime

from fieldservice.roles import Role
from fieldservice.services.complaints import quarter_bounds
from fieldservice.timestamps import utcnow
from tests.fieldservice.factories import make_customer, ok, repair_order_in_state


async def _receive(client, who, customer_id, **fields):
    body = {"customer_id": customer_id, "channel": "phone", "subject": "late technician",
            "description": "waited all morning", **fields}
    return ok(await client.post("/api/complaints", json=body, headers=who.headers), 201)


async def test_first_responder_owns_the_complaint_until_closed(app, client, staff):
    technician, dispatcher, manager = (staff[Role.TECHNICIAN], staff[Role.DISPATCHER],
                                       staff[Role.MANAGER])
    customer = await make_customer(client, dispatcher.headers)
    order = await repair_order_in_state(client, staff, "completed", customer["id"])
    # the technician hears it on site: it is his
    complaint = await _receive(client, technician, customer["id"], channel="visit",
                               work_order_ids=[order["id"]])
    assert (complaint["owner_id"], complaint["state"], complaint["work_order_ids"]) == (
        technician.id, "open", [order["id"]])
    assert complaint["number"].startswith(f"CP-{utcnow().year}-")
    url = f"/api/complaints/{complaint['id']}"

    # nobody else may work it (a manager may), and ownership is not a field
    denied = ok(await client.post(f"{url}/reply", headers=dispatcher.headers, json={
        "version": complaint["version"], "reply": "sorry", "channel": "phone"}), 403)
    assert f"owned by {technician.username}" in denied["detail"]
    grab = ok(await client.patch(url, headers=dispatcher.headers, json={
        "version": complaint["version"], "owner_id": dispatcher.id}), 422)
    assert "owner_id: Extra inputs are not permitted" in grab["detail"]

    # handed to the department responsible: still the technician's
    handed = ok(await client.post(f"{url}/hand-over", headers=technician.headers, json={
        "version": complaint["version"], "department": "dispatch"}))
    assert (handed["state"], handed["department"], handed["owner_id"]) == (
        "handed_over", "dispatch", technician.id)

    refused = ok(await client.post(f"{url}/close", headers=technician.headers,
                                   json={"version": handed["version"]}), 409)
    assert refused["reasons"] == [
        "record the reply to the customer first",
        "classify its cause first (the quarterly report groups by it)"]
    noted = ok(await client.patch(url, headers=manager.headers, json={
        "version": handed["version"], "cause": "service_delay",
        "corrective_action": "urgent orders page the manager after 2 h"}))
    replied = ok(await client.post(f"{url}/reply", headers=technician.headers, json={
        "version": noted["version"], "reply": "apologised; new SLA explained",
        "channel": "email"}))
    assert (replied["reply_channel"], replied["replied_by"]) == ("email", technician.username)
    other = await repair_order_in_state(client, staff, "new", customer["id"])
    linked = ok(await client.post(f"{url}/work-orders", headers=technician.headers, json={
        "version": replied["version"], "work_order_id": other["id"]}))
    assert linked["work_order_ids"] == [order["id"], other["id"]]
    dup = ok(await client.post(f"{url}/work-orders", headers=technician.headers, json={
        "version": linked["version"], "work_order_id": other["id"]}), 409)
    assert "already" in dup["detail"]
    closed = ok(await client.post(f"{url}/close", headers=technician.headers,
                                  json={"version": linked["version"]}))
    assert (closed["state"], closed["closed_by"], closed["owner_id"]) == (
        "closed", technician.username, technician.id)
    final = ok(await client.post(f"{url}/reply", headers=technician.headers, json={
        "version": closed["version"], "reply": "x", "channel": "email"}), 409)
    assert "is closed" in final["detail"]

    # a technician lists his own complaints only; the office sees them all
    await _receive(client, dispatcher, customer["id"])
    mine = ok(await client.get("/api/complaints", headers=technician.headers))
    assert [c["id"] for c in mine["items"]] == [complaint["id"]]
    everyone = ok(await client.get("/api/complaints", headers=staff[Role.FINANCE].headers,
                                   params={"customer_id": customer["id"]}))
    assert everyone["total"] == 2
    theirs = ok(await client.get("/api/complaints", headers=manager.headers, params={
        "owner_id": technician.id, "state": ["closed"], "cause": "service_delay"}))
    assert [c["id"] for c in theirs["items"]] == [complaint["id"]]
    hidden = await _receive(client, dispatcher, customer["id"], channel="letter")
    ok(await client.get(f"/api/complaints/{hidden['id']}", headers=technician.headers), 403)
    audit = ok(await client.get("/api/audit", headers=manager.headers, params={
        "entity": "complaints", "entity_id": str(complaint["id"])}))
    assert audit["items"][-1]["changes"]["owner_pk"] == [None, technician.id]
    assert all("owner_pk" not in e["changes"] for e in audit["items"][:-1])


async def test_quarterly_report_by_cause(app, client, staff):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    customer = await make_customer(client, dispatcher.headers)
    now = utcnow()
    quarter = (now.month - 1) // 3 + 1
    start, _ = quarter_bounds(now.year, quarter)
    made = []
    for cause, channel, action in (("device_fault", "phone", "swap batch 7 units"),
                                   ("device_fault", "email", None),
                                   ("billing", "letter", "invoice template fixed"),
                                   (None, "visit", None)):
        made.append(await _receive(client, dispatcher, customer["id"], channel=channel,
                                   received_at=start.isoformat(), cause=cause))
        if action:
            ok(await client.patch(f"/api/complaints/{made[-1]['id']}", headers=manager.headers,
                                  json={"version": made[-1]["version"],
                                        "corrective_action": action}))
    if quarter > 1:  # one from the quarter before stays out
        before = datetime(now.year, 3 * quarter - 3, 1, tzinfo=UTC)
        await _receive(client, dispatcher, customer["id"], received_at=before.isoformat(),
                       cause="billing")
    report = ok(await client.get("/api/complaints/report", headers=manager.headers,
                                 params={"year": now.year, "quarter": quarter}))
    assert report["total"] == 4
    groups = {g["cause"]: g for g in report["causes"]}
    assert [g["cause"] for g in report["causes"]] == ["device_fault", "billing",
                                                      "unclassified"]
    assert (groups["device_fault"]["complaints"], groups["device_fault"]["open"],
            groups["device_fault"]["by_channel"]) == (2, 2, {"email": 1, "phone": 1})
    assert groups["device_fault"]["corrective_actions"] == [
        {"complaint": made[0]["number"], "action": "swap batch 7 units"}]
    assert groups["billing"]["corrective_actions"][0]["action"] == "invoice template fixed"
    bad = ok(await client.get("/api/complaints/report", headers=manager.headers,
                              params={"year": now.year, "quarter": 5}), 422)
    assert "query.quarter" in bad["detail"]
    future = ok(await client.post("/api/complaints", headers=dispatcher.headers, json={
        "customer_id": customer["id"], "channel": "fax", "subject": "x", "description": "y"}),
        422)
    assert "body.channel" in future["detail"]
