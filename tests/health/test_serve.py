"""``fieldgate serve`` runs health end to end in one process: a terminal's fault becomes a
ticket the API shows, and the health views and live feed are mounted."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from devices.nmea import encode
from fieldgate.dburl import DatabaseURL
from fieldgate.serve import ServeConfig, running
from fieldservice.actors import Actor
from fieldservice.api.state import app_state
from fieldservice.db import set_actor
from fieldservice.roles import Role
from fieldservice.schemas.people import UserCreate
from fieldservice.services.users import create_user
from fieldservice.settings import ServiceSettings
from gateway.config import GatewayConfig, TcpConfig
from telemetry.config import IngestConfig
from telemetry.health import HealthConfig, NoFixThresholds, OfflineThresholds
from tests.fieldservice.factories import FAST_HASHING
from tests.health.installs import install


async def test_serve_turns_a_fault_into_a_ticket_and_shows_it(db: DatabaseURL,
                                                             tmp_path: Path) -> None:
    await install(db, ["SRV1"])
    config = ServeConfig(
        db=db, gateway=GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0)),
        ingest=IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02,
                            state_interval=0.05, spool_fsync=False),
        service=ServiceSettings(secret_key=None, metrics_token=None, metrics_public=False,
                                **FAST_HASHING),
        api_port=0, jobs_interval_s=60,
        health=HealthConfig(rules={"no_fix": NoFixThresholds(open_after_s=0.5),
                                   "offline": OfflineThresholds(open_after_s=3600)},
                            tick_s=0.05, sync_every_s=0.5, sweep_every_s=0.2),
    )
    async with running(config) as stack, httpx.AsyncClient(base_url=stack.api_url) as client:
        state = app_state(stack.app)
        async with state.sessions() as session:
            set_actor(session, Actor.system("test-setup"))
            await create_user(session, passwords=state.passwords, data=UserCreate(
                username="dora", password="dispatch-pass", role=Role.DISPATCHER))
            await session.commit()
        token = (await client.post("/api/auth/token", data={
            "username": "dora", "password": "dispatch-pass"})).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        port = stack.gateway.tcp.addresses[0][1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(encode.pgid("SRV1"))
            deadline = time.monotonic() + 15
            while True:
                now = datetime.now(UTC)
                writer.write(encode.no_fix_rmc(now) + encode.no_fix_gga(now))
                await writer.drain()
                orders = (await client.get("/api/work-orders", headers=headers, params={
                    "terminal_id": "SRV1", "source": "auto_detected"})).json()
                if orders["total"]:
                    break
                assert time.monotonic() < deadline, orders
                await asyncio.sleep(0.1)
        finally:
            writer.close()
            await writer.wait_closed()
        (order,) = orders["items"]
        assert order["state"] == "awaiting_approval" and "antenna" in order["suggested_action"]
        fleet = (await client.get("/api/health/fleet", headers=headers)).json()
        assert fleet["no_fix"] == 1 and fleet["terminals"] == 1
        metrics = await client.get("/metrics", headers=headers)
        assert "fieldgate_health_opened_total 1.0" in metrics.text
