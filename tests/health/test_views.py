"""Health views through the real API: fleet summary, terminal health, fault history, live feed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from fieldgate.dburl import DatabaseURL
from fieldservice.api import create_app
from fieldservice.api.routes.fleet_health import health_app_options
from fieldservice.auto_tickets import TicketPolicy
from fieldservice.roles import Role
from fieldservice.settings import ServiceSettings
from telemetry.health import FaultEvent, FaultEventKind, FaultStore
from telemetry.health.feed import FeedHub
from tests import servers
from tests.fieldservice.factories import (
    Staff,
    act,
    add_user,
    installed_vehicle,
    login,
    make_terminal,
    ok,
)
from tests.health import dbutil

OPEN, CLEAR = FaultEventKind.OPENED, FaultEventKind.CLEARED


async def record(db: DatabaseURL, *events: tuple[FaultEventKind, str, str]) -> None:
    async with FaultStore(db=db) as store:
        await store.record([
            FaultEvent(kind, tid, rule, datetime.now(UTC),
                       {"rule": rule, "observed": {"n": 1}, "last_fix": {"lat": 1.0}})
            for kind, tid, rule in events])


async def fleet_of_every_state(db: DatabaseURL, client: httpx.AsyncClient,
                               staff: dict[Role, Staff]) -> dict[str, str]:
    installer = staff[Role.INSTALLER].headers
    ids = {}
    for name in ("online", "offline", "no_fix", "degraded", "never_seen", "scrapped"):
        ids[name] = (await make_terminal(client, installer))["terminal_id"]
    now = datetime.now(UTC)
    dbutil.seen(db, [ids[n] for n in ("online", "offline", "no_fix", "degraded", "scrapped")],
                now)
    dbutil.execute(db, "UPDATE terminals SET state = 'scrapped' WHERE terminal_id = :t",
                   t=ids["scrapped"])
    dbutil.execute(db, "INSERT INTO unknown_terminals (terminal_id, transport, first_seen_at,"
                       " last_seen_at, message_count) VALUES ('STRANGER', 'tcp', :n, :n, 3)",
                   n=now)
    await record(db, (OPEN, ids["offline"], "offline"), (OPEN, ids["offline"], "no_fix"),
                 (OPEN, ids["no_fix"], "no_fix"), (OPEN, ids["degraded"], "poor_accuracy"),
                 (OPEN, ids["degraded"], "clock_drift"), (OPEN, ids["online"], "no_fix"),
                 (CLEAR, ids["online"], "no_fix"), (OPEN, ids["scrapped"], "offline"))
    return ids


async def test_fleet_summary_and_terminal_list(db: DatabaseURL, client: httpx.AsyncClient,
                                               staff: dict[Role, Staff]) -> None:
    ids = await fleet_of_every_state(db, client, staff)
    headers = staff[Role.DISPATCHER].headers
    fleet = ok(await client.get("/api/health/fleet", headers=headers))
    assert {k: fleet[k] for k in ("terminals", "online", "offline", "no_fix", "degraded",
                                  "never_seen", "unregistered")} == {
        "terminals": 5, "online": 1, "offline": 1, "no_fix": 1, "degraded": 1, "never_seen": 1,
        "unregistered": 1}
    assert fleet["open_faults_by_rule"] == {"clock_drift": 1, "no_fix": 2, "offline": 2,
                                            "poor_accuracy": 1}
    page = ok(await client.get("/api/health/terminals", headers=headers,
                               params={"health": "degraded"}))
    assert page["total"] == 1
    (item,) = page["items"]
    assert item["terminal_id"] == ids["degraded"]
    assert item["open_faults"] == ["clock_drift", "poor_accuracy"]
    page = ok(await client.get("/api/health/terminals", headers=headers,
                               params={"limit": 2, "offset": 4}))
    assert page["total"] == 5 and len(page["items"]) == 1


async def test_terminal_detail_with_faults_evidence_and_ticket(
        db: DatabaseURL, app: FastAPI, client: httpx.AsyncClient,
        staff: dict[Role, Staff]) -> None:
    site = await installed_vehicle(app, client, staff)
    tid = site["terminal_id"]
    await record(db, (OPEN, tid, "no_fix"), (OPEN, tid, "checksum_errors"),
                 (CLEAR, tid, "checksum_errors"))
    from fieldservice.api.state import app_state
    from fieldservice.auto_tickets import TicketConsumer

    await TicketConsumer(engine=app_state(app).engine,
                         transitions=app_state(app).transitions).process_pending()
    detail = ok(await client.get(f"/api/health/terminals/{tid}",
                                 headers=staff[Role.DISPATCHER].headers))
    assert detail["health"] == "no_fix" and detail["registry_state"] == "installed"
    assert [f["rule"] for f in detail["open_faults"]] == ["no_fix"]
    assert detail["open_faults"][0]["evidence"]["last_fix"] == {"lat": 1.0}
    assert [(e["rule"], e["kind"]) for e in detail["recent_events"]] == [
        ("checksum_errors", "cleared"), ("checksum_errors", "opened"), ("no_fix", "opened")]
    assert detail["recent_events"][0]["outcome"].startswith("clearing noted on WO-")
    assert detail["ticket"]["state"] == "awaiting_approval"
    # a technician sees it only once the ticket is his
    tech = staff[Role.TECHNICIAN]
    r = await client.get(f"/api/health/terminals/{tid}", headers=tech.headers)
    assert r.status_code == 403, r.text
    order = ok(await client.get(f"/api/work-orders/{detail['ticket']['id']}",
                                headers=staff[Role.DISPATCHER].headers))
    order = await act(client, order, "approve", staff[Role.MANAGER])
    await act(client, order, "assign", staff[Role.DISPATCHER], assignee_id=tech.id)
    ok(await client.get(f"/api/health/terminals/{tid}", headers=tech.headers))
    r = await client.get("/api/health/terminals/NOPE", headers=tech.headers)
    assert r.status_code == 404


async def test_fault_history_filters(db: DatabaseURL, client: httpx.AsyncClient,
                                     staff: dict[Role, Staff]) -> None:
    await record(db, (OPEN, "A", "no_fix"), (CLEAR, "A", "no_fix"), (OPEN, "A", "no_fix"),
                 (OPEN, "B", "offline"))
    headers = staff[Role.MANAGER].headers
    page = ok(await client.get("/api/health/faults", headers=headers))
    assert page["total"] == 3
    assert [(f["terminal_id"], f["state"]) for f in page["items"]] == [
        ("B", "open"), ("A", "open"), ("A", "cleared")]
    page = ok(await client.get("/api/health/faults", headers=headers,
                               params={"terminal_id": "A", "state": "cleared"}))
    assert page["total"] == 1 and page["items"][0]["clear_reason"] == "recovered"
    page = ok(await client.get("/api/health/faults", headers=headers,
                               params={"opened_from": "2000-01-01T00:00:00", "limit": 1}))
    assert page["total"] == 3 and len(page["items"]) == 1
    r = await client.get("/api/health/faults", headers=headers, params={"state": "bogus"})
    assert r.status_code == 422
    events = ok(await client.get("/api/health/events", headers=headers,
                                 params={"after_id": 2}))
    assert [(e["id"], e["kind"]) for e in events] == [(3, "opened"), (4, "opened")]


@pytest.mark.parametrize("path", ["/api/health/fleet", "/api/health/terminals",
                                  "/api/health/terminals/X", "/api/health/faults",
                                  "/api/health/events", "/api/health/events/stream"])
async def test_every_health_route_needs_a_token_and_an_office_role(
        path: str, client: httpx.AsyncClient, staff: dict[Role, Staff]) -> None:
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=staff[Role.FINANCE].headers)).status_code == 403
    if not path.startswith("/api/health/terminals/"):
        r = await client.get(path, headers=staff[Role.TECHNICIAN].headers)
        assert r.status_code == 403


async def test_health_routes_publish_their_roles(client: httpx.AsyncClient) -> None:
    spec = ok(await client.get("/openapi.json"))
    fleet = spec["paths"]["/api/health/fleet"]["get"]
    assert fleet["x-roles"] == ["admin", "dispatcher", "installer", "manager", "tester"]
    assert "technician" in spec["paths"]["/api/health/terminals/{terminal_id}"]["get"][
        "x-roles"]
    assert "/api/work-orders/{order_id}/close-self-resolved" in spec["paths"]


# -- the live feed and the consumer, on a real server --------------------------------------------

@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    port = servers.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve(), name="uvicorn")
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def read_events(response: httpx.Response, count: int) -> list[dict]:
    events, current = [], {}
    async with asyncio.timeout(15):
        async for line in response.aiter_lines():
            if not line:
                if "data" in current:
                    events.append(current)
                    if len(events) == count:
                        return events
                current = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(":")
                current[key] = value.strip()
    return events


async def test_live_feed_and_the_consumer_in_the_api_process(
        db: DatabaseURL, service_settings: ServiceSettings) -> None:
    app = create_app(db=db, settings=service_settings,
                     **health_app_options(policy=TicketPolicy(poll_s=0.1)))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        staff = {}
        for role in (Role.DISPATCHER, Role.MANAGER, Role.INSTALLER):
            name = f"feed-{role.value}"
            user_id = await add_user(app, username=name, role=role)
            staff[role] = Staff(id=user_id, username=name, role=role,
                                headers=await login(client, name))
        staff[Role.TECHNICIAN] = staff[Role.INSTALLER]
        site = await installed_vehicle(app, client, staff)
        tid = site["terminal_id"]
        await record(db, (OPEN, "OLD", "no_fix"))  # before the feed: not sent
        headers = staff[Role.DISPATCHER].headers
        async with client.stream("GET", "/api/health/events/stream",
                                 headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await asyncio.sleep(0.2)
            await record(db, (OPEN, tid, "offline"), (CLEAR, tid, "offline"))
            events = await read_events(response, 4)
        # the two changes in order, each followed (at once or later) by what the consumer did
        first, second = [e for e in events if e["event"] != "fault_processed"]
        assert first["event"] == "fault_opened" and second["event"] == "fault_cleared"
        processed = {json.loads(e["data"])["id"]: e for e in events
                     if e["event"] == "fault_processed"}
        assert set(processed) == {int(first["id"]), int(second["id"])}
        assert all("id" not in e for e in processed.values())  # resuming is by the changes
        made = json.loads(processed[int(first["id"])]["data"])["outcome"]
        assert made.startswith("ticket WO-") and "submitted for approval" in made
        payload = json.loads(first["data"])
        assert payload["terminal_id"] == tid and payload["rule"] == "offline"
        assert int(second["id"]) == int(first["id"]) + 1
        # resuming with Last-Event-ID replays what came after it
        async with client.stream("GET", "/api/health/events/stream",
                                 headers={**headers, "Last-Event-ID": first["id"]}) as response:
            (again,) = await read_events(response, 1)
        assert again["id"] == second["id"]
        # the consumer running in the app made the ticket, and saw it resolve itself
        deadline = time.monotonic() + 10
        while True:
            page = ok(await client.get("/api/work-orders", headers=headers,
                                       params={"terminal_id": tid}))
            autos = [o for o in page["items"] if o["source"] == "auto_detected"]
            if autos and "self-resolved" in (autos[0]["description"] or ""):
                break
            assert time.monotonic() < deadline, page
            await asyncio.sleep(0.1)


async def test_the_feed_sends_every_event_stored_after_it_answered(
        db: DatabaseURL, service_settings: ServiceSettings) -> None:
    """A board that connects and at once sees a fault open gets that fault: the feed counts
    "new" from before its first byte, not from its first look at the outbox."""
    class LateFirstLook(FeedHub):
        """The feed's first look at the outbox comes late (a busy database): the window in
        which a fault stored after the feed answered was skipped."""

        async def _poll(self) -> None:
            if self.polls == 0:
                await asyncio.sleep(0.5)
            await super()._poll()

    app = create_app(db=db, settings=service_settings, **health_app_options(consumer=False))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        store = FaultStore(db=db)
        hub = app.state.health_feed = LateFirstLook(store=store, poll_s=0.1)
        await add_user(app, username="feed-race", role=Role.DISPATCHER)
        headers = await login(client, "feed-race")
        await record(db, (OPEN, "BEFORE", "no_fix"))  # before the feed: not sent
        for attempt in range(3):
            async with client.stream("GET", "/api/health/events/stream",
                                     headers=headers) as response:
                lines = response.aiter_lines()
                async with asyncio.timeout(15):
                    assert (await anext(lines)).startswith(":")  # the feed is up
                    await record(db, (OPEN, f"RACE{attempt}", "offline"))
                    fields: dict[str, str] = {}
                    async for line in lines:
                        if not line and "data" in fields:
                            break
                        if line and not line.startswith(":"):
                            key, _, value = line.partition(":")
                            fields[key] = value.strip()
            assert json.loads(fields["data"])["terminal_id"] == f"RACE{attempt}"
            hub.polls = 0  # the next connection's first look comes late too
        await hub.close()
        await store.close()
