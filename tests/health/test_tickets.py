"""Fault events become repair tickets through the real service layer (PostgreSQL and SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fieldgate.dburl import DatabaseURL
from fieldservice.api.state import app_state
from fieldservice.auto_tickets import TicketConsumer, TicketPolicy
from fieldservice.db import create_engine
from fieldservice.roles import Role
from telemetry.health import FaultEvent, FaultEventKind, FaultStore
from tests.fieldservice.factories import (
    Staff,
    act,
    get_order,
    installed_vehicle,
    make_terminal,
    ok,
)
from tests.health import dbutil

OPEN, CLEAR = FaultEventKind.OPENED, FaultEventKind.CLEARED


def event(kind: FaultEventKind, tid: str, rule: str, at: datetime | None = None,
          **observed: Any) -> FaultEvent:
    return FaultEvent(kind, tid, rule, at or datetime.now(UTC),
                      {"rule": rule, "observed": observed, "thresholds": {"open_after_s": 30}})


async def record(db: DatabaseURL, *events: FaultEvent) -> None:
    async with FaultStore(db=db) as store:
        await store.record(list(events))


async def tickets(client: httpx.AsyncClient, staff: Staff, terminal_id: str) -> list[dict]:
    page = ok(await client.get("/api/work-orders", headers=staff.headers,
                               params={"terminal_id": terminal_id, "source": "auto_detected"}))
    return page["items"]


@pytest.fixture
def consumer(app: FastAPI) -> TicketConsumer:
    state = app_state(app)
    return TicketConsumer(engine=state.engine, transitions=state.transitions,
                          policy=TicketPolicy(repeat_count=3))


async def test_an_opened_fault_makes_one_submitted_repair_ticket(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    site = await installed_vehicle(app, client, staff)
    tid = site["terminal_id"]
    await record(db, event(OPEN, tid, "offline", silent_for_s=420.5, offline_after_s=300,
                           last_seen_at="2026-11-30T07:53:00Z"))
    (done,) = await consumer.process_pending()
    assert done.outcome.startswith("ticket WO-") and "submitted for approval" in done.outcome
    (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
    assert order["type"] == "repair" and order["source"] == "auto_detected"
    assert order["state"] == "awaiting_approval"
    assert order["customer_id"] == site["customer"]["id"]
    assert order["vehicle_id"] == site["vehicle"]["id"] and order["terminal_id"] == tid
    assert "offline: no data for 420 s (threshold 300 s)" in order["symptoms"]
    assert order["suggested_action"].startswith("offline: check the terminal's power supply")
    assert "then the SIM" in order["suggested_action"]
    assert order["number"] == done.work_order
    # it is in the normal flow: the manager approves, the dispatcher assigns
    order = await act(client, order, "approve", staff[Role.MANAGER])
    order = await act(client, order, "assign", staff[Role.DISPATCHER],
                      assignee_id=staff[Role.TECHNICIAN].id)
    assert order["state"] == "assigned"
    # processed exactly once
    assert await consumer.process_pending() == []
    rows = dbutil.execute(db, "SELECT processed_at, outcome, attempts FROM fault_events")
    assert len(rows) == 1 and rows[0][0] is not None and rows[0][2] == 1


@pytest.mark.parametrize(("rule", "advice"), [
    ("no_fix", "GPS antenna"),
    ("reconnect_storm", "swap the SIM"),
    ("checksum_errors", "wiring"),
])
async def test_suggested_action_per_rule(rule: str, advice: str, db: DatabaseURL, app: FastAPI,
                                         client: httpx.AsyncClient, staff: dict[Role, Staff],
                                         consumer: TicketConsumer) -> None:
    tid = (await installed_vehicle(app, client, staff))["terminal_id"]
    await record(db, event(OPEN, tid, rule))
    await consumer.process_pending()
    (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
    assert advice in order["suggested_action"]


async def test_one_open_ticket_absorbs_further_faults_and_repeats_suggest_a_swap(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    tid = (await installed_vehicle(app, client, staff))["terminal_id"]
    other = (await installed_vehicle(app, client, staff))["terminal_id"]
    await record(db, event(OPEN, tid, "offline", silent_for_s=400, offline_after_s=300))
    await consumer.process_pending()
    await record(db, event(OPEN, tid, "reconnect_storm", opens_in_window=12),
                 event(OPEN, other, "no_fix"))
    done = await consumer.process_pending()
    assert [d.outcome.split(" WO-")[0] for d in done] == ["appended to ticket", "ticket"]
    (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
    assert "offline" in order["symptoms"] and "12 reconnections" in order["symptoms"]
    assert "reconnect_storm: swap the SIM" in order["suggested_action"]
    assert "swap the terminal" not in order["suggested_action"]
    # a third fault on the same terminal: swap the terminal
    await record(db, event(CLEAR, tid, "offline"), event(OPEN, tid, "offline"))
    await consumer.process_pending()
    (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
    assert order["suggested_action"].startswith("swap the terminal: 3 faults within 30 days")
    assert len(await tickets(client, staff[Role.DISPATCHER], other)) == 1
    log = [line.split("Z ", 1)[1] for line in order["description"].splitlines()[1:]]
    assert log == ["offline opened", "reconnect_storm opened (appended)",
                   "offline cleared (recovered)", "offline opened (appended)"]


async def test_all_faults_cleared_before_dispatch_closes_as_self_resolved(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    tid = (await installed_vehicle(app, client, staff))["terminal_id"]
    dispatcher = staff[Role.DISPATCHER]
    await record(db, event(OPEN, tid, "offline"), event(OPEN, tid, "no_fix"))
    await consumer.process_pending()
    (order,) = await tickets(client, dispatcher, tid)
    # one fault still open: refused, with the reason
    await record(db, event(CLEAR, tid, "offline"))
    (done,) = await consumer.process_pending()
    assert done.outcome.startswith("clearing noted")
    order = await get_order(client, order["id"], dispatcher)
    refused = await act(client, order, "close-self-resolved", dispatcher, status=409)
    assert "no_fix" in refused["detail"]
    await record(db, event(CLEAR, tid, "no_fix"))
    (done,) = await consumer.process_pending()
    assert done.outcome == f"all faults of {order['number']} cleared before dispatch"
    order = await get_order(client, order["id"], dispatcher)
    assert "may be closed as self-resolved" in order["description"]
    await act(client, order, "close-self-resolved", staff[Role.TECHNICIAN], status=403)
    order = await act(client, order, "close-self-resolved", dispatcher, note="came back")
    assert order["state"] == "closed"
    history = ok(await client.get(f"/api/work-orders/{order['id']}/transitions",
                                  headers=dispatcher.headers))
    assert history[-1]["action"] == "close-self-resolved"


async def test_clearing_after_dispatch_is_noted_but_not_self_resolved(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    tid = (await installed_vehicle(app, client, staff))["terminal_id"]
    await record(db, event(OPEN, tid, "no_fix"))
    await consumer.process_pending()
    (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
    order = await act(client, order, "approve", staff[Role.MANAGER])
    order = await act(client, order, "assign", staff[Role.DISPATCHER],
                      assignee_id=staff[Role.TECHNICIAN].id)
    await record(db, event(CLEAR, tid, "no_fix"))
    (done,) = await consumer.process_pending()
    assert done.outcome == f"clearing noted on {order['number']}"
    order = await get_order(client, order["id"], staff[Role.DISPATCHER])
    assert "no_fix cleared" in order["description"]
    assert "self-resolved" not in order["description"]
    refused = await act(client, order, "close-self-resolved", staff[Role.DISPATCHER],
                        status=409)
    assert "assigned" in refused["detail"]


async def test_a_clearing_seen_before_its_opening_was_linked(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    """Both events are in the outbox before the consumer runs: the opening finds its fault
    already cleared and records that itself."""
    tid = (await installed_vehicle(app, client, staff))["terminal_id"]
    await record(db, event(OPEN, tid, "clock_drift", drift_s=3600.0), event(CLEAR, tid,
                                                                          "clock_drift"))
    opened, cleared = await consumer.process_pending()
    assert "created" in opened.outcome and "cleared before dispatch" in opened.outcome
    assert cleared.outcome.startswith("all faults of")


async def test_no_ticket_without_an_installation(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    in_stock = await make_terminal(client, staff[Role.INSTALLER].headers)
    await record(db, event(OPEN, in_stock["terminal_id"], "no_fix"),
                 event(OPEN, "NEVER-REGISTERED", "no_fix"),
                 event(CLEAR, "NEVER-REGISTERED", "no_fix"))
    outcomes = [d.outcome for d in await consumer.process_pending()]
    assert outcomes == ["no ticket: the terminal is not installed in a vehicle",
                        "no ticket: the terminal is not registered",
                        "no ticket: the fault was not linked to one"]
    page = ok(await client.get("/api/work-orders", headers=staff[Role.DISPATCHER].headers,
                               params={"source": "auto_detected"}))
    assert page["total"] == 0


async def test_completing_a_sim_swap_resets_the_fault_history(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient, staff: dict[Role, Staff],
        consumer: TicketConsumer) -> None:
    site = await installed_vehicle(app, client, staff)
    tid, tech = site["terminal_id"], staff[Role.TECHNICIAN]
    old = datetime.now(UTC) - timedelta(days=2)
    await record(db, event(OPEN, tid, "reconnect_storm", old), event(CLEAR, tid,
                 "reconnect_storm", old + timedelta(hours=1)),
                 event(OPEN, tid, "reconnect_storm"))
    await consumer.process_pending()
    (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
    order = await act(client, order, "approve", staff[Role.MANAGER])
    order = await act(client, order, "assign", staff[Role.DISPATCHER], assignee_id=tech.id)
    order = await act(client, order, "checklist", tech, tools=True, spare_terminals=True,
                      sims=True, documents=True)
    order = await act(client, order, "depart", tech)
    order = await act(client, order, "arrive", tech)
    order = await act(client, order, "sim-swap", tech, old_iccid=site["iccid"],
                      new_iccid="89860000000000099999")
    order = await act(client, order, "report", tech, diagnosis="SIM dropping registration",
                      actions_taken="new SIM")
    assert dbutil.faults(db, tid)[-1]["state"] == "open"  # not before completion
    order = await act(client, order, "complete", tech)
    faults = dbutil.faults(db, tid)
    assert [f["state"] for f in faults] == ["cleared", "cleared"]
    assert faults[-1]["clear_reason"] == "hardware_swap"
    archived = dbutil.execute(db, "SELECT count(*) FROM faults WHERE terminal_id = :t AND "
                                  "archived_at IS NOT NULL", t=tid)[0][0]
    assert archived == 2
    (done,) = await consumer.process_pending()  # the reset's clearing: ticket is completed
    assert done.outcome.endswith("is completed: nothing to record")
    # the new hardware starts clean: a new fault is not a repeat
    await record(db, event(OPEN, tid, "reconnect_storm"))
    await consumer.process_pending()
    new = [o for o in await tickets(client, staff[Role.DISPATCHER], tid)
           if o["id"] != order["id"]]
    assert len(new) == 1 and "swap the terminal" not in new[0]["suggested_action"]


async def test_two_consumers_process_each_event_once_and_make_one_ticket_per_terminal(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient,
        staff: dict[Role, Staff]) -> None:
    terminals = [(await installed_vehicle(app, client, staff))["terminal_id"] for _ in range(4)]
    events = []
    for n in range(6):
        for tid in terminals:
            rule = ("offline", "no_fix", "reconnect_storm")[n % 3]
            events.append(event(OPEN if n < 3 else CLEAR, tid, rule))
    await record(db, *events)
    # two processes: each its own engine (PostgreSQL: SKIP LOCKED; SQLite: BEGIN IMMEDIATE)
    engines = [create_engine(db), create_engine(db)]
    try:
        state = app_state(app)
        consumers = [TicketConsumer(engine=e, transitions=state.transitions, name=f"c{i}")
                     for i, e in enumerate(engines)]
        results = await asyncio.gather(*(c.process_pending() for c in consumers))
    finally:
        for e in engines:
            await e.dispose()
    handled = sorted(d.event_id for r in results for d in r if not d.failed)
    rows = dbutil.execute(db, "SELECT id, processed_by FROM fault_events ORDER BY id")
    assert handled == [r[0] for r in rows]  # every event once, none twice
    if db.is_postgresql:
        # SKIP LOCKED lets them work side by side (on SQLite one may well do everything
        # while the other waits for the write lock)
        assert {r[1] for r in rows} == {"c0", "c1"}
    for tid in terminals:
        (order,) = await tickets(client, staff[Role.DISPATCHER], tid)
        assert "may be closed as self-resolved" in order["description"]
