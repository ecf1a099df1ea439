"""Return visits (the generated schedule, idempotence, feedback, the satisfaction report) and
major fault reports (the analysis before it goes to the customer)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldgate.dburl import DatabaseURL
from fieldservice.actors import Actor
from fieldservice.api.state import app_state
from fieldservice.db import create_engine, session_factory, set_actor
from fieldservice.models.aftercare import ReturnVisit
from fieldservice.roles import Role
from fieldservice.services.return_visits import generate, schedule
from fieldservice.settings import ServiceSettings
from fieldservice.timestamps import add_months, utcnow
from tests.fieldservice.factories import installed_vehicle, ok

ACTOR = Actor.system("test-generator")


async def _generate_on(app, settings, day):
    async with app_state(app).sessions() as session:
        set_actor(session, ACTOR)
        created = await generate(session, settings=settings, today=day)
        await session.commit()
    return [(v.due_on, v.cadence.value) for v in created]


def test_schedule_is_monthly_then_quarterly():
    dates = list(zip(range(16), schedule(date(2024, 1, 31)), strict=False))
    assert [d for _, (d, _) in dates][:3] == [date(2024, 2, 29), date(2024, 3, 31),
                                              date(2024, 4, 30)]
    assert [c.value for _, (_, c) in dates] == ["monthly"] * 12 + ["quarterly"] * 4
    assert [d for _, (d, _) in dates][11:14] == [date(2025, 1, 31), date(2025, 4, 30),
                                                 date(2025, 7, 31)]


async def test_return_visits_generated_once_recorded_and_reported(app, client, staff, settings):
    dispatcher, manager, installer = (staff[Role.DISPATCHER], staff[Role.MANAGER],
                                      staff[Role.INSTALLER])
    site = await installed_vehicle(app, client, staff)
    anchor = utcnow().date()
    customer_id = site["customer"]["id"]
    # five days on, the first monthly call falls within the 30 days ahead
    body = {"on": (anchor + timedelta(days=5)).isoformat()}
    first = ok(await client.post("/api/return-visits/generate", headers=dispatcher.headers,
                                 json=body))
    assert first["created"] == 1
    again = ok(await client.post("/api/return-visits/generate", headers=dispatcher.headers,
                                 json=body))
    assert again == {"created": 0, "visits": []}
    # a year and a month on (the generator did not run meanwhile): the rest of the first
    # year is filled in, then quarterly
    catch_up = await _generate_on(app, settings, add_months(anchor, 13))
    assert catch_up == [(add_months(anchor, m), "monthly") for m in range(2, 13)]
    assert await _generate_on(app, settings, add_months(anchor, 13)) == []
    assert await _generate_on(app, settings, add_months(anchor, 15)) == [
        (add_months(anchor, 15), "quarterly")]

    visits = ok(await client.get("/api/return-visits", headers=dispatcher.headers,
                                 params={"customer_id": customer_id, "limit": 100}))
    assert visits["total"] == 13
    assert [v["due_on"] for v in visits["items"]][:2] == [add_months(anchor, 1).isoformat(),
                                                          add_months(anchor, 2).isoformat()]
    visit = visits["items"][0]
    url = f"/api/return-visits/{visit['id']}/record"
    too_happy = ok(await client.post(url, headers=dispatcher.headers, json={
        "version": visit["version"], "feedback": "great", "satisfaction": 6}), 422)
    assert "body.satisfaction" in too_happy["detail"]
    done = ok(await client.post(url, headers=dispatcher.headers, json={
        "version": visit["version"], "feedback": "positions arrive late in tunnels",
        "satisfaction": 4}))
    # the feedback is about whoever last worked for the customer: the installer
    assert (done["state"], done["technician_id"], done["done_by"]) == (
        "done", installer.id, dispatcher.username)
    twice = ok(await client.post(url, headers=dispatcher.headers, json={
        "version": done["version"], "feedback": "x", "satisfaction": 1}), 409)
    assert twice["reasons"] == [f"it was recorded already by {dispatcher.username}"]
    second = visits["items"][1]
    ok(await client.post(f"/api/return-visits/{second['id']}/record", headers=manager.headers,
                         json={"version": second["version"], "feedback": "fine",
                               "satisfaction": 5, "technician_id": installer.id}))

    report = ok(await client.get("/api/return-visits/report", headers=manager.headers,
                                 params={"group_by": "technician"}))
    assert (report["visits"], report["average"]) == (2, "4.50")
    assert report["groups"] == [{"key": installer.username, "id": installer.id, "visits": 2,
                                 "average": "4.50",
                                 "scores": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}]
    by_customer = ok(await client.get("/api/return-visits/report", headers=manager.headers,
                                      params={"group_by": "customer"}))
    assert by_customer["groups"][0]["key"] == site["customer"]["company"]
    by_month = ok(await client.get("/api/return-visits/report", headers=manager.headers))
    assert by_month["groups"][0]["key"] == utcnow().strftime("%Y-%m")
    none = ok(await client.get("/api/return-visits/report", headers=manager.headers, params={
        "done_to": (utcnow() - timedelta(days=1)).isoformat()}))
    assert (none["visits"], none["average"], none["groups"]) == (0, None, [])
    done_only = ok(await client.get("/api/return-visits", headers=dispatcher.headers,
                                    params={"state": "done", "technician_id": installer.id}))
    assert done_only["total"] == 2


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_customers_without_installed_hardware_get_no_visits(app, client, staff,
                                                                  settings):
    site = await installed_vehicle(app, client, staff)
    vehicle = site["vehicle"]
    ok(await client.patch(f"/api/vehicles/{vehicle['id']}", headers=staff[Role.DISPATCHER].headers,
                          json={"version": vehicle["version"], "active": False}))
    assert await _generate_on(app, settings, utcnow().date() + timedelta(days=5)) == []


async def test_two_generators_at_once_schedule_each_visit_once(db: DatabaseURL, app, client,
                                                                staff, settings):
    """PostgreSQL: the second waits on the advisory lock; SQLite: on the write lock."""
    for _ in range(3):
        await installed_vehicle(app, client, staff)
    quick = ServiceSettings(**{**settings.model_dump(), "return_visit_lookahead_days": 100})
    engines = [create_engine(db) for _ in range(2)]

    async def run(engine):
        async with session_factory(engine)() as session:
            set_actor(session, ACTOR)
            created = await generate(session, settings=quick,
                                     today=utcnow().date() + timedelta(days=5))
            await session.commit()
            return len(created)

    try:
        counts = await asyncio.gather(*[run(e) for e in engines])
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(counts) == [0, 9]  # 3 customers x 3 monthly calls within 105 days
    async with app_state(app).sessions() as session:
        total = (await session.execute(sa.select(sa.func.count()).select_from(ReturnVisit)))
        assert total.scalar_one() == 9


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
async def test_major_fault_report_needs_its_analysis_before_it_is_sent(app, client, staff):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    site = await installed_vehicle(app, client, staff)
    occurred = utcnow() - timedelta(hours=3)
    report = ok(await client.post("/api/fault-reports", headers=dispatcher.headers, json={
        "occurred_at": occurred.isoformat(), "place": "Beijing north depot, 42 vehicles",
        "symptom": "all terminals of the depot offline", "handling_plan": "check the APN "
        "with the carrier, then visit", "notified_people": ["depot manager Wang", "our CTO"],
        "work_order_id": site["order"]["id"]}), 201)
    assert (report["state"], report["customer_id"], report["reported_by"]) == (
        "open", site["customer"]["id"], dispatcher.username)
    url = f"/api/fault-reports/{report['id']}"
    early = ok(await client.post(f"{url}/send", headers=manager.headers, json={
        "version": report["version"], "sent_to": "Li Wei"}), 409)
    assert early["reasons"] == ["the fault is not resolved yet", "the analysis lacks impact, "
                                "handling, root_cause, corrective_actions, preventive_actions"]
    too_soon = ok(await client.post(f"{url}/analysis", headers=dispatcher.headers, json={
        "version": report["version"], "impact": "x"}), 409)
    assert too_soon["reasons"] == ["the fault is not resolved yet: the analysis comes after"]
    resolved = ok(await client.post(f"{url}/resolve", headers=dispatcher.headers, json={
        "version": report["version"], "resolution": "carrier restored the APN"}))
    partial = ok(await client.post(f"{url}/analysis", headers=dispatcher.headers, json={
        "version": resolved["version"], "impact": "42 vehicles without positions for 2 h",
        "root_cause": "carrier APN change"}))
    assert partial["state"] == "resolved"
    refused = ok(await client.post(f"{url}/send", headers=manager.headers, json={
        "version": partial["version"], "sent_to": "Li Wei"}), 409)
    assert refused["reasons"] == ["the analysis lacks handling, corrective_actions, "
                                  "preventive_actions"]
    analysed = ok(await client.post(f"{url}/analysis", headers=manager.headers, json={
        "version": partial["version"], "handling": "APN reconfigured over SMS",
        "corrective_actions": "carrier notifies us before APN changes",
        "preventive_actions": "alarm when a depot goes silent"}))
    assert analysed["state"] == "analysed"
    await client.post(f"{url}/send", headers=dispatcher.headers, json={
        "version": analysed["version"], "sent_to": "Li Wei"})
    sent = ok(await client.post(f"{url}/send", headers=manager.headers, json={
        "version": analysed["version"], "sent_to": "Li Wei <li@example.com>"}))
    assert (sent["state"], sent["sent_by"]) == ("sent", manager.username)
    final = ok(await client.patch(url, headers=manager.headers, json={
        "version": sent["version"], "place": "elsewhere"}), 409)
    assert "it is final" in final["detail"]
    listed = ok(await client.get("/api/fault-reports", headers=staff[Role.FINANCE].headers,
                                 params={"state": "sent", "customer_id": site["customer"]["id"]}))
    assert [r["number"] for r in listed["items"]] == [report["number"]]
    future = ok(await client.post("/api/fault-reports", headers=dispatcher.headers, json={
        "occurred_at": (utcnow() + timedelta(days=1)).isoformat(), "place": "x",
        "symptom": "y", "handling_plan": "z", "notified_people": ["a"]}), 422)
    assert "in the future" in future["detail"]
    nobody = ok(await client.post("/api/fault-reports", headers=dispatcher.headers, json={
        "occurred_at": occurred.isoformat(), "place": "x", "symptom": "y",
        "handling_plan": "z", "notified_people": []}), 422)
    assert "body.notified_people" in nobody["detail"]
