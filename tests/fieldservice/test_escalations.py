"""Emergency escalation: SLA deadlines and the sweep (own clock), no free technician, manual
escalations, the manager's decisions (contractor, other department, internal), the guard on
external assignments, and two sweepers at once on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from fieldgate.dburl import DatabaseURL
from fieldservice.api import close_app, create_app
from fieldservice.api.state import app_state
from fieldservice.db import create_engine, session_factory
from fieldservice.jobs import ServiceJobs
from fieldservice.models.escalations import Escalation, EscalationReason
from fieldservice.roles import Role
from fieldservice.services.escalations import SWEEP_LOCK_KEY, sweep
from fieldservice.timestamps import parse_timestamp, utcnow
from tests.fieldservice.factories import (
    CHECKLIST,
    Staff,
    act,
    add_user,
    get_order,
    login,
    make_customer,
    make_staff,
    ok,
    repair_order_in_state,
    unique,
)

NO_FREE, RESPONSE, RESOLUTION = (EscalationReason.NO_FREE_TECHNICIAN,
                                 EscalationReason.RESPONSE_OVERDUE,
                                 EscalationReason.RESOLUTION_OVERDUE)


async def _urgent_approved(client, staff, customer_id):
    dispatcher = staff[Role.DISPATCHER]
    order = ok(await client.post("/api/work-orders", headers=dispatcher.headers, json={
        "type": "repair", "source": "customer_call", "priority": "urgent",
        "customer_id": customer_id, "symptoms": "whole fleet offline"}), 201)
    order = await act(client, order, "submit", dispatcher)
    return await act(client, order, "approve", staff[Role.MANAGER])


async def _busy(client, staff, customer_id):
    """The only internal technician gets an active order: nobody is free."""
    return await repair_order_in_state(client, staff, "assigned", customer_id)


async def _sweep(app, settings, now=None):
    return await sweep(app_state(app).sessions, settings=settings, now=now)


async def _member(app, client, role=Role.TECHNICIAN) -> Staff:
    username = unique("ext-")
    user_id = await add_user(app, username=username, role=role)
    return Staff(id=user_id, username=username, role=role, headers=await login(client, username))


async def test_sweep_escalates_each_reason_once(app, client, staff, settings):
    dispatcher = staff[Role.DISPATCHER]
    customer = await make_customer(client, dispatcher.headers)
    busy = await _busy(client, staff, customer["id"])
    urgent = await _urgent_approved(client, staff, customer["id"])
    created = parse_timestamp(urgent["created_at"])

    now = utcnow()
    first = await _sweep(app, settings, now)
    assert (first.ran, first.escalated) == (True, [(urgent["number"], NO_FREE)])
    assert (await _sweep(app, settings, now)).escalated == []
    later = await _sweep(app, settings, created + timedelta(minutes=121))
    assert later.escalated == [(urgent["number"], RESPONSE)]
    next_day = await _sweep(app, settings, created + timedelta(hours=24, minutes=1))
    assert set(next_day.escalated) == {(busy["number"], RESPONSE),
                                       (urgent["number"], RESOLUTION)}
    assert (await _sweep(app, settings, created + timedelta(days=30))).escalated == [
        (busy["number"], RESOLUTION)]

    listed = ok(await client.get("/api/escalations", headers=dispatcher.headers,
                                 params={"work_order_id": urgent["id"]}))
    assert [e["reason"] for e in listed["items"]] == ["resolution_overdue", "response_overdue",
                                                      "no_free_technician"]
    escalation = listed["items"][1]
    assert (escalation["raised_by"], escalation["state"], escalation["order_state"]) == (
        "escalation-sweep", "open", "approved")
    assert parse_timestamp(escalation["deadline"]) == created + timedelta(minutes=120)
    assert "nobody on the way" in escalation["detail"]
    only = ok(await client.get("/api/escalations", headers=staff[Role.MANAGER].headers,
                               params={"reason": ["no_free_technician"], "state": "open"}))
    assert [e["work_order_number"] for e in only["items"]] == [urgent["number"]]

    sla = ok(await client.get(f"/api/work-orders/{urgent['id']}/sla",
                              headers=dispatcher.headers))
    assert parse_timestamp(sla["response_due"]) == created + timedelta(hours=2)
    assert parse_timestamp(sla["resolution_due"]) == created + timedelta(hours=24)
    assert (sla["response_overdue"], sla["resolution_overdue"]) == (False, False)
    # every escalation is in the audit log too
    audit = ok(await client.get("/api/audit", headers=staff[Role.MANAGER].headers,
                                params={"entity": "escalations"}))
    assert audit["total"] == 5 and {e["actor_name"] for e in audit["items"]} == {
        "escalation-sweep"}


async def test_manager_sends_a_contractor(app, client, staff, settings):
    dispatcher, manager, technician = (staff[Role.DISPATCHER], staff[Role.MANAGER],
                                       staff[Role.TECHNICIAN])
    customer = await make_customer(client, dispatcher.headers)
    await _busy(client, staff, customer["id"])
    urgent = await _urgent_approved(client, staff, customer["id"])
    contractor = ok(await client.post("/api/contractors", headers=manager.headers, json={
        "name": unique("FastFix "), "phone": "+86 10 5555 0199", "zones": ["north"],
        "skills": ["repair"]}), 201)
    outsider = await _member(app, client)
    ok(await client.put(f"/api/staff-affiliations/{outsider.id}", headers=manager.headers,
                        json={"contractor_id": contractor["id"]}))

    # nobody internal is free, and the contractor's technician does not count as internal
    free = ok(await client.get(f"/api/work-orders/{urgent['id']}/free-staff",
                               headers=dispatcher.headers))
    assert free == []
    refused = await act(client, urgent, "assign", dispatcher, 409, assignee_id=outsider.id)
    assert refused["reasons"] == [
        f"{outsider.username} works for contractor {contractor['name']}: assigning external "
        "staff needs an escalation of this order that the manager decided that way"]

    (escalated,) = (await _sweep(app, settings)).escalated
    assert escalated == (urgent["number"], NO_FREE)
    escalation = ok(await client.get("/api/escalations", headers=manager.headers, params={
        "work_order_id": urgent["id"]}))["items"][0]
    url = f"/api/escalations/{escalation['id']}/decide"
    incomplete = ok(await client.post(url, headers=manager.headers, json={
        "version": escalation["version"], "decision": "contractor",
        "contractor_id": contractor["id"]}), 422)
    assert "decision contractor needs assignee_id" in incomplete["detail"]
    wrong = ok(await client.post(url, headers=manager.headers, json={
        "version": escalation["version"], "decision": "contractor",
        "contractor_id": contractor["id"], "assignee_id": technician.id}), 409)
    assert wrong["reasons"] == [f"{technician.username} is not registered as staff of "
                                f"contractor {contractor['name']}"]
    await client.post(url, headers=dispatcher.headers, json={
        "version": escalation["version"], "decision": "internal", "note": "wait"})
    decided = ok(await client.post(url, headers=manager.headers, json={
        "version": escalation["version"], "decision": "contractor",
        "contractor_id": contractor["id"], "assignee_id": outsider.id,
        "note": "FastFix is 10 minutes away"}))
    assert (decided["state"], decided["decision"], decided["contractor_name"],
            decided["assignee_username"], decided["decided_by"]) == (
        "decided", "contractor", contractor["name"], outsider.username, manager.username)
    again = ok(await client.post(url, headers=manager.headers, json={
        "version": decided["version"], "decision": "internal", "note": "x"}), 409)
    assert again["reasons"] == ["it was decided already (contractor)"]

    order = await get_order(client, urgent["id"], outsider)
    assert (order["state"], order["assignee_id"]) == ("assigned", outsider.id)
    history = ok(await client.get(f"/api/work-orders/{urgent['id']}/transitions",
                                  headers=manager.headers))
    assert (history[-1]["action"], history[-1]["actor_name"], history[-1]["note"]) == (
        "assign", manager.username, f"escalation {escalation['id']}: contractor "
                                    f"{contractor['name']}")
    # the contractor's technician works the order like any assignee
    order = await act(client, order, "checklist", outsider, **CHECKLIST)
    order = await act(client, order, "depart", outsider)
    assert order["state"] == "en_route"
    by_contractor = ok(await client.get("/api/escalations", headers=dispatcher.headers,
                                        params={"contractor_id": contractor["id"]}))
    assert [e["id"] for e in by_contractor["items"]] == [escalation["id"]]
    staff_list = ok(await client.get("/api/staff-affiliations", headers=dispatcher.headers,
                                     params={"contractor_id": contractor["id"]}))
    assert [a["username"] for a in staff_list["items"]] == [outsider.username]


async def test_manual_escalation_other_department_and_internal(app, client, staff, settings):
    dispatcher, manager = staff[Role.DISPATCHER], staff[Role.MANAGER]
    customer = await make_customer(client, dispatcher.headers)
    order = await repair_order_in_state(client, staff, "approved", customer["id"])
    body = {"work_order_id": order["id"], "detail": "customer threatens to cancel"}
    first = ok(await client.post("/api/escalations", headers=dispatcher.headers, json=body), 201)
    assert (first["reason"], first["raised_by"]) == ("manual", dispatcher.username)
    twice = ok(await client.post("/api/escalations", headers=dispatcher.headers, json=body), 409)
    assert "open manual escalation already" in twice["detail"]
    url = f"/api/escalations/{first['id']}/decide"
    no_note = ok(await client.post(url, headers=manager.headers, json={
        "version": first["version"], "decision": "internal"}), 422)
    assert "decision internal needs note" in no_note["detail"]
    kept = ok(await client.post(url, headers=manager.headers, json={
        "version": first["version"], "decision": "internal",
        "note": "call the customer; technician free after lunch"}))
    assert (kept["decision"], kept["assignee_id"]) == ("internal", None)
    assert (await get_order(client, order["id"], manager))["state"] == "approved"

    # another department lends a technician
    lender = await _member(app, client)
    same = ok(await client.put(f"/api/staff-affiliations/{lender.id}", headers=manager.headers,
                               json={"department": settings.service_department}), 422)
    assert "is the service department" in same["detail"]
    placed = ok(await client.put(f"/api/staff-affiliations/{lender.id}",
                                 headers=staff[Role.ADMIN].headers,
                                 json={"department": "installation"}))
    assert (placed["department"], placed["contractor_id"]) == ("installation", None)
    stale = ok(await client.put(f"/api/staff-affiliations/{lender.id}", headers=manager.headers,
                                json={"department": "sales", "version": 99}), 409)
    assert stale["current_version"] == placed["version"]
    second = ok(await client.post("/api/escalations", headers=dispatcher.headers,
                                  json=body), 201)
    decided = ok(await client.post(f"/api/escalations/{second['id']}/decide",
                                   headers=manager.headers, json={
        "version": second["version"], "decision": "other_department",
        "assignee_id": lender.id}))
    assert decided["assignee_username"] == lender.username
    assert (await get_order(client, order["id"], lender))["assignee_id"] == lender.id

    # once someone is on the way, the order stays with him
    on_site = await repair_order_in_state(client, staff, "on_site", customer["id"])
    late = ok(await client.post("/api/escalations", headers=manager.headers, json={
        "work_order_id": on_site["id"], "detail": "taking too long"}), 201)
    refused = ok(await client.post(f"/api/escalations/{late['id']}/decide",
                                   headers=manager.headers, json={
        "version": late["version"], "decision": "other_department",
        "assignee_id": lender.id}), 409)
    assert "before anyone left for the site" in refused["reasons"][0]
    closed = await repair_order_in_state(client, staff, "closed", customer["id"])
    over = ok(await client.post("/api/escalations", headers=dispatcher.headers, json={
        "work_order_id": closed["id"], "detail": "x"}), 409)
    assert "nothing left to escalate" in over["detail"]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_periodic_jobs_run_in_the_background(app, client, staff, settings):
    customer = await make_customer(client, staff[Role.DISPATCHER].headers)
    await _busy(client, staff, customer["id"])
    urgent = await _urgent_approved(client, staff, customer["id"])
    jobs = ServiceJobs(sessions=app_state(app).sessions, settings=settings, interval_s=0.05)
    async with jobs:
        for _ in range(200):
            if jobs.runs >= 2:
                break
            await asyncio.sleep(0.01)
    assert jobs.runs >= 2 and jobs.failures == 0
    listed = ok(await client.get("/api/escalations", headers=staff[Role.MANAGER].headers,
                                 params={"work_order_id": urgent["id"]}))
    assert [e["reason"] for e in listed["items"]] == ["no_free_technician"]


@pytest.mark.postgres
async def test_two_sweepers_escalate_once(pg_db: DatabaseURL, settings):
    app = create_app(db=pg_db, settings=settings)
    engines = [create_engine(pg_db) for _ in range(3)]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            staff = {role: await make_staff(app, client, role) for role in Role}
            customer = await make_customer(client, staff[Role.DISPATCHER].headers)
            await _busy(client, staff, customer["id"])
            urgent = [await _urgent_approved(client, staff, customer["id"]) for _ in range(4)]

        # while another process holds the sweep lock, a sweep returns at once
        async with engines[2].connect() as holder:
            await holder.execute(sa.select(sa.func.pg_advisory_lock(SWEEP_LOCK_KEY)))
            blocked = await sweep(session_factory(engines[0]), settings=settings)
            assert (blocked.ran, blocked.escalated) == (False, [])
            await holder.execute(sa.select(sa.func.pg_advisory_unlock(SWEEP_LOCK_KEY)))

        later = utcnow() + timedelta(hours=3)  # no free technician and response overdue
        for _ in range(3):
            results = await asyncio.gather(*[
                sweep(session_factory(engine), settings=settings, now=later)
                for engine in engines[:2]])
            assert any(r.ran for r in results)
        async with app_state(app).sessions() as session:
            rows = (await session.execute(sa.select(Escalation.work_order_pk,
                                                    Escalation.reason))).all()
        assert sorted(rows) == sorted((o["id"], reason) for o in urgent
                                      for reason in (NO_FREE, RESPONSE))
    finally:
        for engine in engines:
            await engine.dispose()
        await close_app(app)
