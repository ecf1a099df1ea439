"""The install guard against the real telemetry writer: the gateway's sink (telemetry.Ingest)
stores the fix that lets the install order complete."""

from __future__ import annotations

from datetime import UTC, datetime

from devices.records import Fix
from fieldservice.roles import Role
from fieldservice.timestamps import utcnow
from gateway.sink import SessionInfo, Transport
from telemetry import Ingest, IngestConfig
from tests.fieldservice.factories import (
    act,
    get_order,
    iccid,
    make_customer,
    ok,
    plate,
    terminal_id,
)


def _config(tmp_path) -> IngestConfig:
    return IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02, retry_initial=0.02,
                        retry_max=0.2, shutdown_timeout=5.0, spool_fsync=False)


async def _send_fix(db, tmp_path, tid: str) -> None:
    session = SessionInfo(terminal_id=tid, transport=Transport.TCP, remote="127.0.0.1:40000",
                          connected_at=datetime.now(UTC))
    async with Ingest(db=db, config=_config(tmp_path)) as sink:
        await sink.session_opened(session)
        await sink.publish(session, [Fix(time=utcnow(), lat=39.9042, lon=116.4074, sats=9,
                                         hdop=0.8, fix_quality=1, terminal=tid)])
        await sink.session_closed(session)
    # leaving the context flushes and commits


async def test_install_completes_once_the_gateway_stored_a_fix(db, tmp_path, client, staff):
    dispatcher, manager, installer = (staff[Role.DISPATCHER], staff[Role.MANAGER],
                                      staff[Role.INSTALLER])
    customer = await make_customer(client, dispatcher.headers)
    request = ok(await client.post("/api/install-requests", headers=installer.headers, json={
        "customer_id": customer["id"], "vehicles": [{"plate": plate()}]}), 201)
    ok(await client.post(f"/api/install-requests/{request['id']}/approve",
                         json={"version": request["version"]}, headers=manager.headers))
    order = await get_order(client, request["orders"][0]["id"], dispatcher)
    order = await act(client, order, "assign", dispatcher, assignee_id=installer.id)
    order = await act(client, order, "depart", installer)
    order = await act(client, order, "arrive", installer)
    tid = terminal_id()

    # before registration the gateway does not store the unit's fixes (unknown terminal)
    await _send_fix(db, tmp_path / "before", tid)
    order = await act(client, order, "register-terminal", installer, terminal_id=tid,
                      iccid=iccid())
    refused = await act(client, order, "complete", installer, 409)
    assert "no valid fix received" in refused["detail"]

    await _send_fix(db, tmp_path / "after", tid)
    order = await act(client, order, "complete", installer)
    assert order["state"] == "completed"
