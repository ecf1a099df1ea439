"""``fieldgate gateway`` runs the health rules: flags reach them, faults reach the database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.nmea import encode
from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from tests import servers
from tests.health import dbutil
from tests.servers import free_port, wait_for_port


def no_fix_epoch() -> bytes:
    now = datetime.now(UTC)
    return encode.no_fix_rmc(now) + encode.no_fix_gga(now)


@pytest.mark.slow
def test_the_gateway_command_opens_faults_with_its_flags(db: DatabaseURL, tmp_path: Path) -> None:
    dbutil.add_terminal(db, "CMD1")
    port, metrics_port = free_port(), free_port()
    env = servers.clean_env()
    env.update(FIELDGATE_DB=str(db), FIELDGATE_SPOOL_DIR=str(tmp_path / "spool"),
               FIELDGATE_OFFLINE_AFTER="3600")  # a variable, next to the flags below
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldgate", "gateway", "--tcp", f"127.0.0.1:{port}",
         "--no-fix-after", "0.5", "--health-tick", "0.1", "--offline-sweep-every", "0.2",
         "--metrics", f"127.0.0.1:{metrics_port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with servers.stopped_by_sigterm(proc) as stopped:
        wait_for_port("127.0.0.1", port, timeout=20)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(encode.pgid("CMD1"))
            deadline = time.monotonic() + 15
            while not dbutil.faults(db):
                assert time.monotonic() < deadline and proc.poll() is None
                sock.sendall(no_fix_epoch())
                time.sleep(0.1)
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        assert "fieldgate_health_opened_total 1.0" in text
        assert "fieldgate_health_sweep_leader 1.0" in text
    assert stopped.returncode == 0, stopped.err
    assert dbutil.faults(db) == [{"terminal_id": "CMD1", "rule": "no_fix", "state": "open",
                                  "clear_reason": None}]
    evidence = dbutil.execute(db, "SELECT evidence FROM fault_events")[0][0]
    if isinstance(evidence, str):
        import json

        evidence = json.loads(evidence)
    assert evidence["thresholds"]["open_after_s"] == 0.5


@pytest.mark.parametrize(("argv", "message"), [
    (["--no-fix-after", "-1"], "no_fix_after"),
    (["--health-disable", "nonsense"], "unknown health rule 'nonsense'"),
    (["--checksum-error-rate", "2"], "checksum_error_rate"),
])
def test_bad_health_flags_exit_2(argv: list[str], message: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FIELDGATE_"):
            monkeypatch.delenv(name)
    status = main(["gateway", "--db", f"sqlite:///{tmp_path}/x.db", "--tcp", "127.0.0.1:0",
                   *argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.startswith("fieldgate gateway: ")
