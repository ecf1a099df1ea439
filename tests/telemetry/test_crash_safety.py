"""Issue 9 section 5: a gateway process that dies or is stopped loses nothing it had taken.

Real ``fieldgate gateway`` processes, real TCP terminals (plain NMEA), a private PostgreSQL
cluster that the tests stop and start:

- killed with SIGKILL while the database is away: what it had spooled is replayed by the next
  process on the same spool directory, exactly once;
- stopped with SIGTERM: everything it had accepted (handed to the writer) is committed, or
  spooled when the database is away and committed by the next process.

What a plain-NMEA TCP terminal can still lose is written in docs/operations.md: bytes in flight
that the gateway had not read when it died (the protocol has no acknowledgement).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fieldgate.dburl import DatabaseURL
from tests import servers
from tests.gateway.nmea_data import epochs, fixes, pgid
from tests.telemetry.conftest import count, register

pytestmark = pytest.mark.postgres

TERMINALS = [f"CRASH{i}" for i in range(5)]  # $PGID ids are letters and digits
PER_TERMINAL = 40
FIRST = 3  #: epochs each terminal sends while the database is up (its session opens)


def start_gateway(db: DatabaseURL, spool: Path) -> tuple[subprocess.Popen[str], int, int]:
    if count(db, "terminals") < 5 + len(TERMINALS):
        register(db, *TERMINALS)
    tcp, metrics = servers.free_port(), servers.free_port()
    env = servers.clean_env()
    # its log goes to a file: a pipe nobody reads would stall a gateway that logs retries
    with open(spool.parent / f"gateway-{tcp}.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fieldgate", "gateway", "--db", str(db), "--tcp",
             f"127.0.0.1:{tcp}", "--metrics", f"127.0.0.1:{metrics}", "--spool-dir",
             str(spool), "--no-health"],
            env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    servers.wait_for_port("127.0.0.1", tcp, timeout=30)
    servers.wait_for_port("127.0.0.1", metrics, timeout=30)
    return proc, tcp, metrics


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


class Terminals:
    """Five NMEA terminals, each on its own connection, identified and reporting."""

    def __init__(self, port: int) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=10)
                      for _ in TERMINALS]
        self.tracks = [fixes(PER_TERMINAL, terminal=tid, lat=40 + n)
                       for n, tid in enumerate(TERMINALS)]
        for sock, tid, track in zip(self.socks, TERMINALS, self.tracks, strict=True):
            # a few epochs: an NMEA epoch is complete once the next one (or the receiver's
            # learnt last sentence) arrives
            sock.sendall(pgid(tid) + epochs(track[:FIRST]))

    def send_rest(self) -> int:
        """The rest of every track, then hang up (the last epoch completes at the close);
        returns how many fixes were sent in all."""
        for sock, track in zip(self.socks, self.tracks, strict=True):
            sock.sendall(epochs(track[FIRST:]))
        self.close()
        return len(TERMINALS) * PER_TERMINAL

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


def stop(proc: subprocess.Popen[str], sig: int) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def accepted(metrics_port: int) -> float:
    return metric(metrics_port, "fieldgate_telemetry_fixes_received_total")


def test_sigkill_loses_nothing_that_was_spooled(private_pg, outage_db: DatabaseURL,
                                                tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    proc, tcp, metrics = start_gateway(outage_db, spool)
    terminals = Terminals(tcp)
    try:
        until(lambda: count(outage_db, "positions") >= len(TERMINALS))  # sessions open
        private_pg.stop()  # the database goes away; the gateway keeps taking fixes
        n = terminals.send_rest()
        until(lambda: accepted(metrics) == n)
        until(lambda: metric(metrics, "fieldgate_telemetry_spool_batches") >= 1
              and metric(metrics, "fieldgate_telemetry_queue_rows") == 0)
    finally:
        assert stop(proc, signal.SIGKILL) == -signal.SIGKILL
        terminals.close()
    private_pg.start()
    assert count(outage_db, "positions") < n  # the rest is in the killed process's spool
    # the next process on the same spool replays what the killed one had spooled
    proc, _tcp, metrics = start_gateway(outage_db, spool)
    try:
        until(lambda: count(outage_db, "positions") == n)
        until(lambda: metric(metrics, "fieldgate_telemetry_spool_batches") == 0)
    finally:
        assert stop(proc, signal.SIGTERM) == 0
    assert count(outage_db, "positions") == n  # exactly once


def test_sigterm_commits_what_it_accepted(private_pg, outage_db: DatabaseURL,
                                          tmp_path: Path) -> None:
    proc, tcp, metrics = start_gateway(outage_db, tmp_path / "spool")
    terminals = Terminals(tcp)
    try:
        until(lambda: accepted(metrics) >= len(TERMINALS))
        n = terminals.send_rest()
        until(lambda: accepted(metrics) == n)
    finally:
        # at once: most of them are still in the writer's batch, not yet committed
        assert stop(proc, signal.SIGTERM) == 0
        terminals.close()
    assert count(outage_db, "positions") == n


def test_sigterm_with_the_database_away_spools_for_the_next_process(
        private_pg, outage_db: DatabaseURL, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    proc, tcp, metrics = start_gateway(outage_db, spool)
    terminals = Terminals(tcp)
    try:
        until(lambda: count(outage_db, "positions") >= len(TERMINALS))
        private_pg.stop()
        n = terminals.send_rest()
        until(lambda: accepted(metrics) == n)
    finally:
        assert stop(proc, signal.SIGTERM) == 0
        terminals.close()
    private_pg.start()
    proc, _tcp, _metrics = start_gateway(outage_db, spool)
    try:
        until(lambda: count(outage_db, "positions") == n)
    finally:
        assert stop(proc, signal.SIGTERM) == 0
    assert count(outage_db, "positions") == n
