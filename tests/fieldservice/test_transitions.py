"""The state machine refuses, with 409 and its reasons, every transition that does not apply
or whose guards are not satisfied; roles that may not act get 403; stale versions get 409."""

from __future__ import annotations

import pytest

from fieldservice.roles import Role
from fieldservice.workflow import default_transitions
from tests.fieldservice.factories import (
    ORDER_STATES,
    act,
    get_order,
    make_customer,
    make_staff,
    ok,
    repair_order_in_state,
)

TABLE = default_transitions()


async def test_every_inapplicable_transition_is_refused(client, staff):
    """Every (state, action) pair the table does not allow, for all ten states."""
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    orders = {s: await repair_order_in_state(client, staff, s, customer["id"])
              for s in ORDER_STATES}
    refused = 0
    for state, order in orders.items():
        for transition in TABLE:
            if state in transition.sources:
                continue
            # a role the action admits; field actions by the technician the order is
            # assigned to (orders never assigned are not his: 403 before the state check)
            role = sorted(transition.roles)[0]
            actor = staff[Role.TECHNICIAN] if Role.TECHNICIAN in transition.roles \
                else staff[role]
            if actor.role is Role.TECHNICIAN and order["assignee_id"] != actor.id:
                expected = 403
            else:
                expected = 409
            body = {"note": "because"}
            if transition.action == "assign":
                body["assignee_id"] = staff[Role.TECHNICIAN].id
            answer = await act(client, order, transition.action, actor, expected, **body)
            if expected == 409:
                assert answer["reasons"] == [
                    f"it is {state}, and {transition.action} applies only to orders that are "
                    + ", ".join(sorted(s.value for s in transition.sources))]
                assert answer["action"] == transition.action
            refused += 1
        after = await get_order(client, order["id"], staff[Role.MANAGER])
        assert (after["state"], after["version"]) == (state, order["version"])
    # 10 states x 9 actions, minus the 15 (state, action) pairs the table allows
    assert refused == 90 - sum(len(t.sources) for t in TABLE) == 75


async def test_submit_refused_until_site_and_symptoms_are_known(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    customer = await make_customer(client, dispatcher.headers, address=None, phone=None)
    order = ok(await client.post("/api/work-orders", headers=dispatcher.headers,
                                 json={"type": "repair", "source": "inspection",
                                       "customer_id": customer["id"]}), 201)
    refused = await act(client, order, "submit", dispatcher, 409)
    assert refused["reasons"] == ["fill in address and contact_phone first",
                                  "describe the symptoms first"]
    order = ok(await client.patch(f"/api/work-orders/{order['id']}", headers=dispatcher.headers,
                                  json={"version": order["version"], "address": "Gate 3",
                                        "contact_phone": "+86 10 1234 5678"}))
    refused = await act(client, order, "submit", dispatcher, 409)
    assert refused["reasons"] == ["describe the symptoms first"]
    order = ok(await client.patch(f"/api/work-orders/{order['id']}", headers=dispatcher.headers,
                                  json={"version": order["version"],
                                        "symptoms": "LED dark"}))
    assert (await act(client, order, "submit", dispatcher))["state"] == "awaiting_approval"

    install = ok(await client.post("/api/work-orders", headers=dispatcher.headers,
                                   json={"type": "install", "source": "customer_call",
                                         "customer_id": customer["id"], "address": "Gate 3",
                                         "contact_phone": "+86 10 1234 5678"}), 201)
    refused = await act(client, install, "submit", dispatcher, 409)
    assert refused["reasons"] == ["an install order needs its vehicle"]


@pytest.mark.parametrize("action,state", [("reject", "awaiting_approval"), ("cancel", "new"),
                                          ("cancel", "on_site")])
async def test_reject_and_cancel_need_a_reason(client, staff, action, state):
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    order = await repair_order_in_state(client, staff, state, customer["id"])
    who = staff[Role.MANAGER]
    for note in (None, "   "):
        refused = await act(client, order, action, who, 409, note=note)
        assert refused["reasons"] == ["a note giving the reason is required"]
    assert (await act(client, order, action, who, note="duplicate of WO-1"))["state"] in (
        "rejected", "cancelled")


async def test_assign_guards(app, client, staff):
    dispatcher = staff[Role.DISPATCHER]
    customer = await make_customer(client, dispatcher.headers)
    order = await repair_order_in_state(client, staff, "approved", customer["id"])
    retired = await make_staff(app, client, Role.TECHNICIAN)
    user = ok(await client.get(f"/api/users/{retired.id}", headers=staff[Role.ADMIN].headers))
    ok(await client.patch(f"/api/users/{retired.id}", headers=staff[Role.ADMIN].headers,
                          json={"version": user["version"], "active": False}))
    cases = [
        ({}, "assign needs an assignee (assignee_id)"),
        ({"assignee_id": 999999}, "there is no user with id 999999"),
        ({"assignee_id": retired.id}, f"user {retired.username} is deactivated"),
        ({"assignee_id": dispatcher.id},
         f"user {dispatcher.username} is a dispatcher, not field staff (technician, installer)"),
        ({"assignee_id": staff[Role.INSTALLER].id},
         f"repairs go to technicians; {staff[Role.INSTALLER].username} is an installer"),
    ]
    for body, reason in cases:
        refused = await act(client, order, "assign", dispatcher, 409, **body)
        assert refused["reasons"] == [reason]
    order = await act(client, order, "assign", dispatcher, assignee_id=staff[Role.TECHNICIAN].id)
    refused = await act(client, order, "assign", dispatcher, 409,
                        assignee_id=staff[Role.TECHNICIAN].id)
    assert refused["reasons"] == [f"{order['number']} is already assigned to "
                                  f"{staff[Role.TECHNICIAN].username}"]
    # reassigning to someone else is an assign from assigned
    other = await make_staff(app, client, Role.TECHNICIAN)
    order = await act(client, order, "assign", dispatcher, assignee_id=other.id)
    assert order["assignee_id"] == other.id


async def test_roles_that_may_not_act_get_403(client, staff):
    """For every action, every role outside the table's list is refused before anything
    else is looked at."""
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    order = await repair_order_in_state(client, staff, "awaiting_approval", customer["id"])
    checked = 0
    for transition in TABLE:
        for role in set(Role) - transition.roles:
            answer = await act(client, order, transition.action, staff[role], 403, note="x")
            assert f"role {role.value} may not {transition.action} work orders" in \
                answer["detail"]
            checked += 1
    assert checked == sum(len(Role) - len(t.roles) for t in TABLE)
    after = await get_order(client, order["id"], staff[Role.MANAGER])
    assert after["version"] == order["version"]


async def test_stale_version_is_a_conflict(client, staff):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    customer = await make_customer(client, dispatcher.headers)
    order = await repair_order_in_state(client, staff, "awaiting_approval", customer["id"])
    stale = dict(order)
    ok(await client.patch(f"/api/work-orders/{order['id']}", headers=dispatcher.headers,
                          json={"version": order["version"], "priority": "urgent"}))
    refused = await act(client, stale, "approve", manager, 409)
    assert refused["current_version"] == order["version"] + 1
    assert "was changed by someone else" in refused["detail"]
    refused = ok(await client.patch(f"/api/work-orders/{order['id']}", headers=dispatcher.headers,
                                    json={"version": stale["version"], "priority": "normal"}),
                 409)
    assert refused["current_version"] == order["version"] + 1


async def test_actions_endpoint_says_what_may_happen_next(client, staff):
    dispatcher, technician = staff[Role.DISPATCHER], staff[Role.TECHNICIAN]
    customer = await make_customer(client, dispatcher.headers)
    order = await repair_order_in_state(client, staff, "assigned", customer["id"])
    # undo the checklist the factory confirmed
    order = await act(client, order, "checklist", technician, tools=True)
    seen = {a["action"]: a for a in ok(await client.get(
        f"/api/work-orders/{order['id']}/actions", headers=technician.headers))}
    assert set(seen) == {"assign", "depart", "cancel"}
    assert seen["depart"]["allowed"] is False
    assert seen["depart"]["reasons"] == [
        "confirm the checklist first (unchecked: spare_terminals, sims, documents)"]
    assert seen["depart"]["refusals"] == [{
        "code": "checklist_unchecked",
        "params": {"items": ["spare_terminals", "sims", "documents"]},
        "message": seen["depart"]["reasons"][0]}]
    assert seen["assign"]["reasons"][0].startswith("role technician may not assign")
    assert seen["assign"]["refusals"][0]["code"] == "role"
    assert seen["assign"]["refusals"][0]["params"] == {
        "role": "technician", "action": "assign", "roles": ["dispatcher", "manager"]}
    office = {a["action"]: a for a in ok(await client.get(
        f"/api/work-orders/{order['id']}/actions", headers=dispatcher.headers))}
    assert office["depart"]["reasons"][0].startswith("role dispatcher may not depart")
    assert office["cancel"]["reasons"] == ["a note giving the reason is required"]


async def test_completed_orders_can_no_longer_be_edited(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    customer = await make_customer(client, dispatcher.headers)
    order = await repair_order_in_state(client, staff, "completed", customer["id"])
    refused = ok(await client.patch(f"/api/work-orders/{order['id']}", headers=dispatcher.headers,
                                    json={"version": order["version"], "symptoms": "changed"}),
                 409)
    assert refused["detail"] == f"work order {order['number']} is completed; it can no longer " \
                                "be edited"
