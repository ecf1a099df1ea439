"""``fieldgate demo`` as a user runs it (what ``make demo`` does after installing): a real
process, real sockets; installs complete on the first fixes, the fleet page's data is served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.slow


def test_demo_runs_seeds_and_stops_cleanly(tmp_path: Path) -> None:
    api_port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldgate", "demo", "--port", str(api_port),
         "--gateway-port", "0", "--terminals", "4", "--jt808-port", "0", "--gt06-port", "0",
         "--binary-terminals", "1"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "every install completed" in line:
                break
        output = "".join(lines)
        assert "every install completed" in output, output
        # the 4th NMEA terminal is never registered; one JT/T 808 and one GT06 terminal are
        assert output.count("completed: first fix from") == 5
        assert "completed: first fix from 13900000001" in output
        assert "completed: first fix from 864120300000001" in output

        base = f"http://127.0.0.1:{api_port}"
        page = httpx.get(base + "/fleet")
        assert page.status_code == 200 and "fieldgate fleet" in page.text
        assert "/static/js/main.js" in httpx.get(base + "/").text
        token = httpx.post(base + "/api/auth/token",
                           data={"username": "dispatcher", "password": "fieldgate-demo"}
                           ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        # latest states are written every state_interval (1 s): poll for them
        until = time.monotonic() + 15
        while True:
            fleet = httpx.get(base + "/api/fleet/terminals", headers=headers).json()
            ids = {t["terminal_id"] for t in fleet["terminals"]}
            if (ids == {"SIM0001", "SIM0002", "SIM0003", "13900000001", "864120300000001"}
                    and all(t["fixes"] > 0 for t in fleet["terminals"])):
                break
            assert time.monotonic() < until, fleet
            time.sleep(0.2)
        unknown = httpx.get(base + "/api/fleet/unknown-terminals", headers=headers).json()
        assert [u["terminal_id"] for u in unknown["items"]] == ["SIM0004"]
        orders = httpx.get(base + "/api/work-orders", headers=headers,
                           params={"state": "completed"}).json()
        assert orders["total"] == 5
        binary = {t["terminal_id"]: t for t in fleet["terminals"]}
        assert binary["13900000001"]["transport"] == "jt808"
        assert binary["13900000001"]["acc"] is True
        assert binary["864120300000001"]["transport"] == "gt06"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    assert proc.returncode == 0, "".join(lines) + rest
    assert "Traceback" not in rest, rest
    assert (tmp_path / ".fieldgate" / "demo" / "fieldgate.db").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--port", "99999"], "--port must be 0-65535, got 99999"),
    (["--gateway-port", "-1"], "--gateway-port must be 0-65535, got -1"),
    (["--db", "postgresql://nobody@127.0.0.1:1/none"], "Connection refused"),
])
def test_bad_ports_or_database_are_one_clear_line(tmp_path: Path, capsys,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  argv: list[str], message: str) -> None:
    from fieldgate.cli import main

    monkeypatch.chdir(tmp_path)  # the demo's default files live under the working directory
    assert main(["demo", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fieldgate demo: ") and message in err
    assert len(err.splitlines()) == 1
