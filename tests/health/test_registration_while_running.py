"""Issue 9 §1: a terminal registered while the gateways run is watched by their health rules.

Exactly as the issue found it: two real ``fieldgate gateway`` processes on one database are
started first; then one terminal is registered by an installer through the API (the
``register-terminal`` action of an install order) and another with ``fieldgate terminals add``;
each then sends 3 valid epochs and 10 without a fix over one TCP connection to its own gateway.
Both gateways keep the periodic registry sync at its default (30 s), longer than the test waits:
the ``no_fix`` faults must open from the registry's change counter.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from devices.nmea import encode
from devices.records import Fix
from fieldgate.dburl import DatabaseURL
from fieldservice.roles import Role
from tests import servers
from tests.fieldservice.factories import (
    Staff,
    act,
    iccid,
    install_order_on_site,
    terminal_id,
)
from tests.health import dbutil
from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow

#: seconds the test waits for each fault: well below the 30 s periodic sync
FAULT_WITHIN = 12.0


def _env(db: DatabaseURL, spool: Path) -> dict[str, str]:
    env = servers.clean_env()
    env.update(FIELDGATE_DB=str(db), FIELDGATE_SPOOL_DIR=str(spool),
               FIELDGATE_OFFLINE_AFTER="3600")
    return env


@contextlib.contextmanager
def gateways(db: DatabaseURL, tmp_path: Path, count: int) -> Iterator[list[int]]:
    """``count`` gateway processes, each on its own TCP port; stopped with SIGTERM."""
    ports = [free_port() for _ in range(count)]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "fieldgate", "gateway", "--tcp", f"127.0.0.1:{port}",
         "--no-fix-after", "1", "--health-tick", "0.1"],
        env=_env(db, tmp_path / f"spool{n}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for n, port in enumerate(ports)]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_for_port("127.0.0.1", port, timeout=30)
            assert proc.poll() is None
        # let the health monitors finish their first registry sync before anything registers
        time.sleep(1.0)
        yield ports
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            _out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def stream(port: int, tid: str) -> socket.socket:
    """3 valid epochs, then 10 without a fix, 0.2 s apart; the connection stays open."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(encode.pgid(tid))
    start = datetime.now(UTC).replace(microsecond=0)
    for n in range(13):
        at = start + timedelta(seconds=n)
        if n < 3:
            sock.sendall(encode.epoch(Fix(time=at, lat=39.9 + n * 1e-4, lon=116.4, sats=9,
                                          hdop=0.9, fix_quality=1)))
        else:
            sock.sendall(encode.no_fix_rmc(at) + encode.no_fix_gga(at))
        time.sleep(0.2)
    return sock


def wait_for_fault(db: DatabaseURL, tid: str) -> list[dict]:
    deadline = time.monotonic() + FAULT_WITHIN
    while not (rows := dbutil.faults(db, tid)):
        assert time.monotonic() < deadline, f"no fault opened for {tid}"
        time.sleep(0.1)
    return rows


async def register_through_an_install_order(client: httpx.AsyncClient,
                                            staff: dict[Role, Staff], tid: str) -> None:
    _customer, order = await install_order_on_site(client, staff)
    await act(client, order, "register-terminal", staff[Role.INSTALLER], terminal_id=tid,
              iccid=iccid(), model="T55")


async def test_terminals_registered_while_two_gateways_run_open_no_fix_faults(
        db: DatabaseURL, tmp_path: Path, client: httpx.AsyncClient,
        staff: dict[Role, Staff]) -> None:
    by_api, by_cli = terminal_id(), terminal_id()
    with gateways(db, tmp_path, 2) as (port_a, port_b):
        await register_through_an_install_order(client, staff, by_api)
        added = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "fieldgate", "terminals", "add", by_cli],
            env=_env(db, tmp_path / "cli"), capture_output=True, text=True, timeout=60)
        assert added.returncode == 0, added.stderr

        socks = await asyncio.gather(asyncio.to_thread(stream, port_a, by_api),
                                     asyncio.to_thread(stream, port_b, by_cli))
        try:
            rows = {tid: await asyncio.to_thread(wait_for_fault, db, tid)
                    for tid in (by_api, by_cli)}
        finally:
            for sock in socks:
                sock.close()
    for tid in (by_api, by_cli):
        assert [(r["rule"], r["state"]) for r in rows[tid]] == [("no_fix", "open")]
        # the positions were stored as well (the fault is not instead of the data)
        count = dbutil.execute(db, "SELECT count(*) FROM positions WHERE terminal_id = :t",
                               t=tid)[0][0]
        assert count == 3
