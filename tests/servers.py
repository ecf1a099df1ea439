"""Real servers for the test suites: PostgreSQL databases, private Mosquitto brokers and
private PostgreSQL clusters (for outage tests that must stop the server under the gateway).

When a server cannot run here, suites skip with a loud message; under ``CI=true`` that is a
failure instead (CI must never pass with the PostgreSQL or MQTT suites silently skipped).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get(
    "FIELDGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)
UNAVAILABLE: list[str] = []


def clean_env() -> dict[str, str]:
    """This process's environment without any FIELDGATE_ setting: a ``fieldgate`` child
    process takes its settings from its command line only."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FIELDGATE_")}


def unavailable(what: str, why: str) -> None:
    """Skip (or, under CI, fail) the calling test because a real server is missing."""
    message = f"*** {what} NOT AVAILABLE ({why}): its test suite is SKIPPED ***"
    if CI:
        pytest.fail(message + " -- under CI=true a skipped server suite is a failure",
                    pytrace=False)
    UNAVAILABLE.append(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from exc
            time.sleep(0.05)


def admin_connect(url: str = PG_ADMIN_URL) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def pg_database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def create_database(name: str, *, template: str | None = None,
                    admin_url: str = PG_ADMIN_URL) -> str:
    with admin_connect(admin_url) as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return pg_database_url(admin_url, name)


def drop_database(name: str, *, admin_url: str = PG_ADMIN_URL) -> None:
    with admin_connect(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class Mosquitto:
    """A private mosquitto broker on a free port; stop() and start() simulate an outage."""

    def __init__(self, port: int | None = None, *, max_inflight: int | None = None) -> None:
        """``max_inflight``: QoS 1 messages the broker sends a client before it must
        acknowledge (mosquitto's default is 20; 0 = no limit)."""
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="fg-mosquitto-"))
        self._conf = self._dir / "mosquitto.conf"
        inflight = "" if max_inflight is None else f"max_inflight_messages {max_inflight}\n"
        self._conf.write_text(
            f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\n"
            f"log_dest none\nmax_queued_messages 100000\n{inflight}"
        )
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self._proc = subprocess.Popen([binary, "-c", str(self._conf)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)
        self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def mosquitto_available() -> str | None:
    """None when a broker can run here, else the reason why not."""
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        return "no mosquitto binary on PATH or in /usr/sbin"
    return None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb) on a free port, owned by the test.

    Outage tests stop and restart it under a running gateway; the shared server on 5432 must
    never be stopped by a test, since other suites run against it at the same time.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._bin = self._find_bin()
        self._dir = Path(tempfile.mkdtemp(prefix="fg-pg-"))
        self.data = self._dir / "data"
        self._user = "postgres" if os.geteuid() == 0 else None

    @staticmethod
    def _find_bin() -> Path:
        roots = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        for root in roots:
            if (root / "initdb").exists():
                return root
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")

    def _run(self, *argv: str) -> None:
        cmd = [str(self._bin / argv[0]), *argv[1:]]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> None:
        if self._user:
            pw = pwd.getpwnam(self._user)
            os.chown(self._dir, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self._dir}'\nfsync = off\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self._dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self._dir, ignore_errors=True)


@dataclass
class Stopped:
    """How a process ended: its exit status and what it wrote."""

    returncode: int | None = None
    out: str = ""
    err: str = ""


@contextlib.contextmanager
def stopped_by_sigterm(proc: subprocess.Popen[str]) -> Iterator[Stopped]:
    """Run the body while ``proc`` serves, then stop it as an operator does (SIGTERM, wait up
    to 30 s); a failing body or a process that hangs is killed, never left behind."""
    stopped = Stopped()
    try:
        yield stopped
        proc.send_signal(signal.SIGTERM)
        stopped.out, stopped.err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    stopped.returncode = proc.returncode


@contextlib.contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn on a free port in a thread: real HTTP for the tests that
    need it (headers, throttling by address); yields its base URL."""
    import threading

    import uvicorn

    class _Server(uvicorn.Server):
        def install_signal_handlers(self) -> None:
            pass

    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port("127.0.0.1", port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
