"""``fieldgate serve``: gateway, writer, API and jobs in one process, on real sockets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devices.nmea import encode
from devices.records import Fix
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
from tests.fieldservice.factories import FAST_HASHING
from tests.waiting import eventually


def _config(db: DatabaseURL, tmp_path: Path) -> ServeConfig:
    return ServeConfig(
        db=db, gateway=GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=0)),
        ingest=IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02,
                            state_interval=0.05, spool_fsync=False),
        service=ServiceSettings(secret_key=None, metrics_token=None, metrics_public=False,
                                **FAST_HASHING),
        api_port=0, jobs_interval_s=0.5)


async def _login(app, client: httpx.AsyncClient) -> dict[str, str]:
    state = app_state(app)
    async with state.sessions() as session:
        set_actor(session, Actor.system("test-setup"))
        await create_user(session, passwords=state.passwords, data=UserCreate(
            username="dora", password="dispatch-pass", role=Role.DISPATCHER))
        await session.commit()
    r = await client.post("/api/auth/token",
                          data={"username": "dora", "password": "dispatch-pass"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_terminal_reports_over_tcp_and_the_api_shows_it(db: DatabaseURL,
                                                                tmp_path: Path) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    async with running(_config(db, tmp_path)) as stack, \
            httpx.AsyncClient(base_url=stack.api_url) as client:
        headers = await _login(stack.app, client)
        r = await client.post("/api/terminals", headers=headers,
                              json={"terminal_id": "T55000001", "model": "T55"})
        assert r.status_code == 403  # dispatchers do not register hardware
        host, port = stack.gateway.tcp.addresses[0]
        _, writer = await asyncio.open_connection(host, port)
        writer.write(encode.pgid("T55000001") + b"".join(
            encode.epoch(Fix(t0 + timedelta(seconds=i), 52.52, 13.405 + i * 1e-4, 12.0,
                             90.0, 40.0, 8, 0.9, 1)) for i in range(5)))
        await writer.drain()

        async def seen():
            r = await client.get("/api/fleet/unknown-terminals", headers=headers)
            return [u for u in r.json()["items"] if u["terminal_id"] == "T55000001"]

        unknown = await eventually(seen)
        assert unknown and unknown[0]["transport"] == "tcp"
        metrics = await client.get("/metrics", headers=headers)
        assert metrics.status_code == 200
        assert "fieldgate_gateway_" in metrics.text and "fieldgate_telemetry_" in metrics.text
        assert "fieldservice_http_requests_total" in metrics.text
        writer.close()
        await writer.wait_closed()
        health = await client.get("/health")
        assert health.json()["status"] == "ok"


def test_an_unusable_spool_dir_is_one_clear_error(sqlite_db: DatabaseURL, capsys) -> None:
    from fieldgate.cli import main

    status = main(["serve", "--db", str(sqlite_db), "--tcp", "127.0.0.1:0", "--port", "0",
                   "--spool-dir", "/dev/null/spool"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("fieldgate serve: cannot use spool directory /dev/null/spool")


@pytest.mark.parametrize("interval", ["0", "-1", "nan"])
def test_a_bad_jobs_interval_is_one_clear_error(sqlite_db: DatabaseURL, capsys,
                                                interval: str) -> None:
    from fieldgate.cli import main

    status = main(["serve", "--db", str(sqlite_db), "--tcp", "127.0.0.1:0", "--port", "0",
                   "--jobs-interval", interval])
    assert status == 2
    assert "jobs interval positive" in capsys.readouterr().err


def test_an_api_port_in_use_is_one_clear_error(sqlite_db: DatabaseURL, capsys,
                                               tmp_path: Path) -> None:
    """uvicorn calls sys.exit when it cannot listen; serve says so in one line, exit 2."""
    import socket

    from fieldgate.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["serve", "--db", str(sqlite_db), "--tcp", "127.0.0.1:0",
                       "--port", str(port), "--spool-dir", str(tmp_path / "spool")])
    assert status == 2
    assert (f"fieldgate serve: cannot start: the API server cannot start on 127.0.0.1:{port}"
            in capsys.readouterr().err)
