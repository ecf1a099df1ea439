"""Warranty billing end to end: the price list and its history, parts used on site, the charge
fixed at completion, the on-site payment, finance's confirmation, the report; refusals, exact
decimals and concurrent payments."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from fieldgate.dburl import DatabaseURL
from fieldservice.actors import Actor
from fieldservice.api import close_app, create_app
from fieldservice.api.state import app_state
from fieldservice.db import set_actor
from fieldservice.models.billing import ChargeState, PaymentMethod, RepairCharge
from fieldservice.roles import Role
from fieldservice.schemas.billing import PaymentBody
from fieldservice.services.billing import charge_of, record_payment
from fieldservice.timestamps import utcnow
from tests.fieldservice.factories import (
    act,
    installed_vehicle,
    make_part,
    make_staff,
    ok,
    repair_on_site,
    set_warranty,
    terminal_id,
    use_part,
)

REPORT = {"diagnosis": "antenna cable cut", "actions_taken": "replaced antenna and fuse"}


async def _charge(client, order, who):
    return ok(await client.get(f"/api/work-orders/{order['id']}/charge", headers=who.headers))


async def _pay(client, order, charge, who, status=200, **body):
    fields = {"version": charge["version"], "amount": charge["total"], "method": "cash",
              "invoice_number": f"INV-{order['number']}", **body}
    return ok(await client.post(f"/api/work-orders/{order['id']}/payment", json=fields,
                                headers=who.headers), status)


async def test_out_of_warranty_repair_pays_parts_only_once(app, client, staff):
    finance, manager, technician, dispatcher = (staff[Role.FINANCE], staff[Role.MANAGER],
                                                staff[Role.TECHNICIAN], staff[Role.DISPATCHER])
    antenna = await make_part(client, finance.headers, unit_price="12.50")
    fuse = await make_part(client, manager.headers, name="fuse 2A", unit_price="3.35")
    assert (antenna["unit_price"], antenna["currency"]) == ("12.50", "CNY")
    # a price rise announced for later changes nothing today, and is kept in the history
    later = (utcnow() + timedelta(hours=1)).isoformat()
    ok(await client.post(f"/api/parts/{antenna['id']}/prices", headers=finance.headers,
                         json={"version": antenna["version"], "unit_price": "14.00",
                               "effective_from": later}), 201)
    assert ok(await client.get(f"/api/parts/{antenna['id']}",
                               headers=technician.headers))["unit_price"] == "12.50"
    history = ok(await client.get(f"/api/parts/{antenna['id']}/prices",
                                  headers=technician.headers))
    assert [p["unit_price"] for p in history] == ["12.50", "14.00"]

    site = await installed_vehicle(app, client, staff)
    await set_warranty(client, staff, site["terminal_id"], 0)  # out of warranty
    order = await repair_on_site(client, staff, site)
    await use_part(client, order, technician, antenna["code"], 2)
    await use_part(client, order, technician, fuse["code"], 3)
    wrong = await use_part(client, order, technician, fuse["code"], 9)
    voided = ok(await client.post(
        f"/api/work-orders/{order['id']}/parts/{wrong['lines'][-1]['id']}/void",
        headers=technician.headers, json={"version": order["version"], "reason": "typo"}))
    order["version"] = voided["order_version"]
    assert [(line["quantity"], line["voided"]) for line in voided["lines"]] == [
        (2, False), (3, False), (9, True)]
    # 2 x 12.50 + 3 x 3.35 = 35.05 exactly (in binary floats 3 x 3.35 = 10.049999...)
    assert voided["parts_value"] == "35.05"
    quote = await _charge(client, order, technician)
    assert (quote["state"], quote["in_warranty"], quote["total"]) == ("quote", False, "35.05")

    # the old terminal is swapped out: the repair was for it, and it is out of warranty (the
    # new unit, installed today, is in warranty and must not make the repair free)
    order = await act(client, order, "terminal-swap", technician,
                      old_terminal_id=site["terminal_id"], new_terminal_id=terminal_id())
    order = await act(client, order, "report", technician, **REPORT)
    order = await act(client, order, "complete", technician)
    charge = await _charge(client, order, technician)
    assert (charge["state"], charge["total"], charge["parts_value"], charge["terminal_id"],
            charge["in_warranty"]) == ("due", "35.05", "35.05", site["terminal_id"], False)
    assert [line["amount"] for line in charge["lines"]] == ["25.00", "10.05"]

    refused = await act(client, order, "close", dispatcher, 409)
    assert refused["reasons"] == ["the customer owes 35.05 CNY (out of warranty): the "
                                  "technician records the payment (amount, method, invoice "
                                  "number) first"]
    # parts are recorded on site only
    await use_part(client, order, technician, fuse["code"], status=409)

    wrong_amount = await _pay(client, order, charge, technician, 409, amount="35.00")
    assert wrong_amount["reasons"] == ["the amount 35.00 differs from the charge 35.05 CNY"]
    as_float = await _pay(client, order, charge, technician, 422, amount=35.05)
    assert "not JSON numbers with a fraction" in as_float["detail"]
    other = await make_staff(app, client, Role.TECHNICIAN)
    denied = await _pay(client, order, charge, other, 403)
    assert "is not assigned to you" in denied["detail"]
    await _pay(client, order, charge, dispatcher, 403)
    paid = await _pay(client, order, charge, technician, method="mobile")
    assert (paid["state"], paid["amount"], paid["method"], paid["collected_by"]) == (
        "collected", "35.05", "mobile", technician.username)
    again = await _pay(client, order, paid, technician, 409, invoice_number="INV-2")
    assert again["reasons"] == ["its charge is collected, not due"]

    order = await act(client, order, "close", dispatcher)
    assert order["state"] == "closed"

    # finance confirms the cash arrived; the report follows each step
    report = ok(await client.get("/api/billing/report", headers=finance.headers))
    cny = next(c for c in report["currencies"] if c["currency"] == "CNY")
    assert (cny["charged"], cny["collected"], cny["confirmed"], cny["awaiting_confirmation"],
            cny["uncollected"]) == ("35.05", "35.05", "0.00", "35.05", "0.00")
    await client.post(f"/api/payments/{paid['id']}/confirm", headers=technician.headers,
                      json={"version": paid["version"]})
    confirmed = ok(await client.post(f"/api/payments/{paid['id']}/confirm",
                                     headers=finance.headers,
                                     json={"version": paid["version"], "note": "banked"}))
    assert (confirmed["state"], confirmed["confirmed_by"]) == ("confirmed", finance.username)
    refused = ok(await client.post(f"/api/payments/{paid['id']}/confirm",
                                   headers=finance.headers,
                                   json={"version": confirmed["version"]}), 409)
    assert refused["reasons"] == ["it is confirmed; only a collected payment can be confirmed"]
    report = ok(await client.get("/api/billing/report", headers=finance.headers, params={
        "period_from": (utcnow() - timedelta(hours=1)).isoformat()}))
    cny = report["currencies"][0]
    assert (cny["charges"], cny["confirmed"], cny["awaiting_confirmation"]) == (1, "35.05",
                                                                                "0.00")
    empty = ok(await client.get("/api/billing/report", headers=finance.headers, params={
        "period_to": (utcnow() - timedelta(hours=1)).isoformat()}))
    assert empty["currencies"] == []

    # a price change after the repair leaves its charge alone
    fresh = ok(await client.get(f"/api/parts/{fuse['id']}", headers=finance.headers))
    ok(await client.post(f"/api/parts/{fuse['id']}/prices", headers=finance.headers,
                         json={"version": fresh["version"], "unit_price": "99.00"}), 201)
    listed = ok(await client.get("/api/payments", headers=finance.headers,
                                 params={"state": "confirmed"}))
    assert [(p["work_order_number"], p["total"]) for p in listed["items"]] == [
        (order["number"], "35.05")]
    audit = ok(await client.get("/api/audit", headers=manager.headers,
                                params={"entity": "repair_charges",
                                        "entity_id": str(paid["id"])}))
    assert [e["action"] for e in audit["items"]] == ["update", "update", "create"]
    assert audit["items"][0]["changes"]["state"] == ["collected", "confirmed"]
    assert audit["items"][0]["actor_name"] == finance.username


async def test_repair_in_warranty_is_free(app, client, staff):
    technician, dispatcher = staff[Role.TECHNICIAN], staff[Role.DISPATCHER]
    part = await make_part(client, staff[Role.FINANCE].headers, unit_price="120.00")
    site = await installed_vehicle(app, client, staff)  # installed today, 12 months' warranty
    order = await repair_on_site(client, staff, site)
    await use_part(client, order, technician, part["code"])
    order = await act(client, order, "report", technician, **REPORT)
    order = await act(client, order, "complete", technician)
    charge = await _charge(client, order, dispatcher)
    assert (charge["state"], charge["in_warranty"], charge["parts_value"], charge["total"]) == (
        "no_charge", True, "120.00", "0.00")
    assert charge["installed_on"] == utcnow().date().isoformat()
    refused = await _pay(client, order, charge, technician, 409)
    assert refused["reasons"] == ["its charge is no_charge, not due"]
    order = await act(client, order, "close", dispatcher)
    assert order["state"] == "closed"


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_parts_and_prices_refusals(app, client, staff):
    finance, technician = staff[Role.FINANCE], staff[Role.TECHNICIAN]
    part = await make_part(client, finance.headers)
    taken = ok(await client.post("/api/parts", headers=finance.headers, json={
        "code": part["code"], "name": "x", "unit_price": "1"}), 409)
    assert "is taken" in taken["detail"]
    for bad, text in ((1.5, "not JSON numbers with a fraction"),
                      ("1.005", "at most two decimal places"), ("-1", "greater than or equal"),
                      ("abc", "not a decimal amount"), ("NaN", "not a decimal amount"),
                      (True, "decimal string")):
        answer = ok(await client.post("/api/parts", headers=finance.headers, json={
            "code": "X1", "name": "x", "unit_price": bad}), 422)
        assert text in answer["detail"], (bad, answer["detail"])
    past = (utcnow() - timedelta(days=1)).isoformat()
    answer = ok(await client.post(f"/api/parts/{part['id']}/prices", headers=finance.headers,
                                  json={"version": part["version"], "unit_price": "2.00",
                                        "effective_from": past}), 422)
    assert "never backdated" in answer["detail"]
    stale = ok(await client.post(f"/api/parts/{part['id']}/prices", headers=finance.headers,
                                 json={"version": part["version"] + 5, "unit_price": "2.00"}),
               409)
    assert stale["current_version"] == part["version"]
    withdrawn = ok(await client.patch(f"/api/parts/{part['id']}", headers=finance.headers,
                                      json={"version": part["version"], "active": False}))
    assert withdrawn["active"] is False
    site = await installed_vehicle(app, client, staff)
    order = await repair_on_site(client, staff, site)
    refused = await use_part(client, order, technician, part["code"], status=409)
    assert "withdrawn" in refused["detail"]
    unknown = await use_part(client, order, technician, "NOPE", status=422)
    assert "no such part" in unknown["detail"]
    listed = ok(await client.get("/api/parts", headers=technician.headers,
                                 params={"q": part["code"].lower(), "active": "false"}))
    assert [p["code"] for p in listed["items"]] == [part["code"]]


async def test_amounts_are_exact_at_the_limits(app, client, staff):
    """The largest amount and hundredths survive the database and JSON both ways."""
    finance, technician = staff[Role.FINANCE], staff[Role.TECHNICIAN]
    big = await make_part(client, finance.headers, unit_price="999999999999.99")
    dime = await make_part(client, finance.headers, unit_price="0.10")
    assert ok(await client.get(f"/api/parts/{big['id']}",
                               headers=finance.headers))["unit_price"] == "999999999999.99"
    site = await installed_vehicle(app, client, staff)
    await set_warranty(client, staff, site["terminal_id"], 0)
    order = await repair_on_site(client, staff, site)
    parts = await use_part(client, order, technician, dime["code"], 3)
    assert parts["parts_value"] == "0.30"  # 3 * 0.1 is 0.30000000000000004 in floats
    order = await act(client, order, "report", technician, **REPORT)
    order = await act(client, order, "complete", technician)
    charge = await _charge(client, order, technician)
    paid = await _pay(client, order, charge, technician, amount="0.3")
    assert (paid["total"], paid["amount"]) == ("0.30", "0.30")
    report = ok(await client.get("/api/billing/report", headers=finance.headers))
    assert report["currencies"][0]["collected"] == "0.30"


async def test_concurrent_payments_bill_once(app, client, staff):
    """Two payment records for one charge at the same time (a double tap, two phones): one
    is stored, the other refused; an invoice number is never used on two charges."""
    technician, finance = staff[Role.TECHNICIAN], staff[Role.FINANCE]
    part = await make_part(client, finance.headers, unit_price="40.00")
    orders = []
    for _ in range(2):
        site = await installed_vehicle(app, client, staff)
        await set_warranty(client, staff, site["terminal_id"], 0)
        order = await repair_on_site(client, staff, site)
        await use_part(client, order, technician, part["code"])
        order = await act(client, order, "report", technician, **REPORT)
        orders.append(await act(client, order, "complete", technician))
    first, second = orders
    charge = await _charge(client, first, technician)
    answers = await asyncio.gather(*[
        client.post(f"/api/work-orders/{first['id']}/payment", headers=technician.headers,
                    json={"version": charge["version"], "amount": "40.00", "method": "cash",
                          "invoice_number": f"INV-A{i}"})
        for i in range(2)])
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    stored = await _charge(client, first, finance)
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert stored["invoice_number"] == winner["invoice_number"]
    assert stored["version"] == charge["version"] + 1
    # the winning invoice number cannot pay the other repair
    other = await _charge(client, second, technician)
    clash = await _pay(client, second, other, technician, 409,
                       invoice_number=stored["invoice_number"])
    assert "is already recorded" in clash["detail"]
    listed = ok(await client.get("/api/payments", headers=finance.headers,
                                 params={"state": ["collected", "due"]}))
    assert sorted(p["state"] for p in listed["items"]) == ["collected", "due"]


@pytest.mark.postgres
async def test_database_refuses_double_billing(pg_db: DatabaseURL, settings):
    """Under the services' checks, the database itself: a second charge for one order breaks
    a unique key, and of two transactions that both read the due charge only the first
    payment is stored (the second UPDATE ... WHERE version = v matches no row)."""
    app = create_app(db=pg_db, settings=settings)
    state = app_state(app)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            staff = {role: await make_staff(app, client, role) for role in Role}
            technician = staff[Role.TECHNICIAN]
            part = await make_part(client, staff[Role.FINANCE].headers, unit_price="7.00")
            site = await installed_vehicle(app, client, staff)
            await set_warranty(client, staff, site["terminal_id"], 0)
            order = await repair_on_site(client, staff, site)
            await use_part(client, order, technician, part["code"])
            order = await act(client, order, "report", technician, **REPORT)
            order = await act(client, order, "complete", technician)
            charge = await _charge(client, order, technician)

        actor = Actor(name=technician.username, user_pk=technician.id, role=Role.TECHNICIAN)
        async with state.sessions() as session:
            set_actor(session, actor)
            made = await charge_of(session, order["id"])
            session.add(RepairCharge(
                work_order_pk=order["id"], customer_pk=made.customer_pk, charged_at=utcnow(),
                in_warranty=False, parts_value=made.total, total=made.total, currency="CNY",
                state=ChargeState.DUE))
            with pytest.raises(IntegrityError):
                await session.flush()

        async with state.sessions() as first, state.sessions() as late:
            for session in (first, late):
                set_actor(session, actor)
            seen = [await charge_of(first, order["id"]), await charge_of(late, order["id"])]
            assert [c.version for c in seen] == [charge["version"]] * 2
            for session, invoice in ((first, "INV-1"), (late, "INV-2")):
                body = PaymentBody(version=charge["version"], amount=Decimal("7.00"),
                                   method=PaymentMethod.CASH, invoice_number=invoice)
                if session is first:
                    await record_payment(session, actor=actor, order_pk=order["id"], body=body)
                    await first.commit()
                else:
                    with pytest.raises(StaleDataError):
                        await record_payment(session, actor=actor, order_pk=order["id"],
                                             body=body)
        async with state.sessions() as session:
            stored = await charge_of(session, order["id"])
            assert (stored.invoice_number, stored.amount) == ("INV-1", Decimal("7.00"))
    finally:
        await close_app(app)
