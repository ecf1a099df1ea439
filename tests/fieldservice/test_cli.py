"""The service commands: users, terminals, work-orders, api (real processes where a terminal
or a server is involved)."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from fieldservice.api import close_app, create_app
from fieldservice.roles import Role
from tests import servers
from tests.fieldservice.factories import (
    FAST_HASHING,
    make_customer,
    make_staff,
    repair_order_in_state,
)

FIELDGATE = str(Path(sys.executable).with_name("fieldgate"))
FAST_ENV = {f"FIELDGATE_{k.upper()}": str(v) for k, v in FAST_HASHING.items()}


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_users_add_list_and_refusals(db: DatabaseURL, capsys):
    status, out, _ = run(capsys, "users", "add", "ann", "--role", "dispatcher", "--password",
                         "ann's password", "--zone", "north", "--skill", "gps", "--db", str(db))
    assert status == 0 and "user ann (dispatcher) created" in out
    status, _, err = run(capsys, "users", "add", "ann", "--role", "tester", "--password",
                         "something long", "--db", str(db))
    assert status == 2 and "username 'ann' is taken" in err
    status, _, err = run(capsys, "users", "add", "bo", "--role", "tester", "--password", "short",
                         "--db", str(db))
    assert status == 2 and "password: String should have at least 8 characters" in err
    status, out, _ = run(capsys, "users", "list", "--json", "--db", str(db))
    users = [json.loads(line) for line in out.splitlines()]
    assert [(u["username"], u["role"], u["zone"], u["skills"]) for u in users] == [
        ("ann", "dispatcher", "north", ["gps"])]
    assert "password_hash" not in out
    status, out, _ = run(capsys, "users", "passwd", "ann", "--password", "a better password",
                         "--db", str(db))
    assert status == 0


def test_password_prompt_on_a_real_terminal(sqlite_db: DatabaseURL):
    """Without --password the command prompts twice on its controlling terminal (a pty)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execve(FIELDGATE, [FIELDGATE, "users", "add", "pat", "--role", "technician",
                              "--db", str(sqlite_db)], {**os.environ, **FAST_ENV})
    transcript = b""

    def expect(text: bytes) -> None:
        nonlocal transcript
        deadline = time.monotonic() + 30
        while text not in transcript:
            assert time.monotonic() < deadline, transcript
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    transcript += os.read(fd, 1024)
                except OSError:  # EIO: the child closed the terminal
                    break

    try:
        expect(b"Password: ")
        os.write(fd, b"typed on a tty\n")
        expect(b"Repeat password: ")
        os.write(fd, b"typed on a tty\n")
        expect(b"created")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, transcript
    assert b"typed on a tty" not in transcript  # no echo

    answer = subprocess.run([FIELDGATE, "users", "add", "pia", "--role", "tester", "--db",
                             str(sqlite_db)], input="piped password\n", capture_output=True,
                            text=True, env={**os.environ, **FAST_ENV}, timeout=60)
    assert answer.returncode == 0, answer.stderr


def test_terminals_add_and_list(db: DatabaseURL, capsys):
    status, out, _ = run(capsys, "terminals", "add", "860000000000101", "--sim",
                         "89860000000000000101", "--model", "T55", "--db", str(db))
    assert status == 0 and "registered with SIM 89860000000000000101" in out
    run(capsys, "terminals", "add", "860000000000102", "--db", str(db))
    status, _, err = run(capsys, "terminals", "add", "860000000000103", "--sim",
                         "89860000000000000101", "--db", str(db))
    assert status == 2 and "is in terminal 860000000000101" in err
    status, _, err = run(capsys, "terminals", "add", "bad id!", "--db", str(db))
    assert status == 2 and "terminal_id: String should match pattern" in err
    status, out, _ = run(capsys, "terminals", "list", "--json", "--db", str(db))
    listed = [json.loads(line) for line in out.splitlines()]
    assert [(t["terminal_id"], t["iccid"], t["state"]) for t in listed] == [
        ("860000000000101", "89860000000000000101", "in_stock"),
        ("860000000000102", None, "in_stock")]
    status, out, _ = run(capsys, "terminals", "list", "--db", str(db))
    assert out.splitlines()[0].split()[:4] == ["860000000000101", "T55", "in_stock",
                                               "89860000000000000101"]


async def test_work_orders_list_json(db: DatabaseURL, settings, capsys):
    app = create_app(db=db, settings=settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            staff = {role: await make_staff(app, client, role) for role in Role}
            customer = await make_customer(client, staff[Role.DISPATCHER].headers)
            orders = [await repair_order_in_state(client, staff, state, customer["id"])
                      for state in ("new", "assigned", "closed")]
    finally:
        await close_app(app)

    async def cli(*argv: str) -> list[dict]:
        status = await asyncio.to_thread(main, ["work-orders", "list", "--json", "--db",
                                                str(db), *argv])
        out, _ = capsys.readouterr()
        assert status == 0
        return [json.loads(line) for line in out.splitlines()]

    everything = await cli()
    assert [o["number"] for o in everything] == [o["number"] for o in reversed(orders)]
    assert everything[0]["customer_company"] == customer["company"]
    assert [o["id"] for o in await cli("--state", "new", "--state", "closed")] == [
        orders[2]["id"], orders[0]["id"]]
    mine = await cli("--assignee", staff[Role.TECHNICIAN].username)
    assert [o["id"] for o in mine] == [orders[2]["id"], orders[1]["id"]]
    assert await cli("--until", "2000-01-01") == []
    assert len(await cli("--since", "2000-01-01", "--customer", str(customer["id"]))) == 3


@pytest.mark.parametrize(("argv", "message"), [
    (["--limit", "-1"], "--limit must be 1 to 2147483647"),
    (["--limit", str(2**64)], "--limit must be 1 to 2147483647"),
    (["--customer", str(2**64)], f"--customer {2**64} is not a customer id"),
])
def test_work_orders_bad_numbers_are_one_clear_line(db: DatabaseURL, capsys,
                                                    argv: list[str], message: str):
    status, _, err = run(capsys, "work-orders", "list", "--db", str(db), *argv)
    assert status == 2
    assert err == f"fieldgate work-orders: {message}\n"


@pytest.mark.parametrize("when", ["9999-12-31T23:00:00-05:00", "yesterday"])
def test_work_orders_bad_times_are_usage_errors(sqlite_db: DatabaseURL, capsys, when: str):
    with pytest.raises(SystemExit) as exit_:
        main(["work-orders", "list", "--db", str(sqlite_db), "--since", when])
    assert exit_.value.code == 2
    assert f"argument --since: {when!r} is not a time; use ISO 8601" in capsys.readouterr().err


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_return_visits_on_the_ends_of_the_calendar(sqlite_db: DatabaseURL, capsys, day: str):
    status, _, err = run(capsys, "return-visits", "generate", "--db", str(sqlite_db),
                         "--on", day)
    assert status == 2
    assert err == f"fieldgate return-visits: --on {day}: too close to the ends of the calendar\n"


def test_unmigrated_database_is_a_clear_error(tmp_path, capsys):
    status, _, err = run(capsys, "users", "list", "--db", f"sqlite:///{tmp_path}/none.db")
    assert status == 2 and "run `fieldgate db upgrade" in err
    assert not (tmp_path / "none.db").exists()


def test_api_command_serves_http(sqlite_db: DatabaseURL):
    port = servers.free_port()
    proc = subprocess.Popen([FIELDGATE, "api", "--db", str(sqlite_db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **FAST_ENV})
    try:
        servers.wait_for_port("127.0.0.1", port, timeout=30)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        assert health == {"status": "ok", "database": "ok", "kind": "sqlite"}
        schema = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert "/api/work-orders/{order_id}/assign" in schema["paths"]
        assert httpx.get(f"http://127.0.0.1:{port}/api/customers", timeout=5).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def test_api_port_0_listens_on_a_free_port(sqlite_db: DatabaseURL):
    """--port 0 is "any free port", as for `serve`, never the default 8000."""
    proc = subprocess.Popen([FIELDGATE, "api", "--db", str(sqlite_db), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **FAST_ENV})
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # uvicorn names the bound address once it listens
            if "running on http://127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split()[0])
                break
        else:
            pytest.fail(f"the API never listened (exit {proc.wait(10)})")
        assert port != 8000
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def test_api_port_in_use_is_one_clear_error(sqlite_db: DatabaseURL, capsys) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = run(capsys, "api", "--db", str(sqlite_db), "--port", str(port))
    assert status == 2
    assert f"fieldgate api: cannot start the API server on 127.0.0.1:{port}" in err


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--port", "99999"], {}, "the port must be 0-65535, got 99999"),
    ([], {"FIELDGATE_PORT": "-1"}, "the port must be 0-65535, got -1"),
    (["--workers", "0"], {}, "--workers must be at least 1, got 0"),
    ([], {"FIELDGATE_WORKERS": "-3"}, "--workers must be at least 1, got -3"),
])
def test_api_bad_port_or_workers_is_one_clear_error(sqlite_db: DatabaseURL, capsys,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    argv: list[str], env: dict[str, str],
                                                    message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status, _, err = run(capsys, "api", "--db", str(sqlite_db), *argv)
    assert status == 2
    assert err == f"fieldgate api: {message}\n"


@pytest.mark.postgres
def test_api_workers_agree_on_tokens(pg_db: DatabaseURL, capsys):
    """Two worker processes, no configured key: a token one of them issued is accepted by both
    (the key generated once lives in the database)."""
    assert run(capsys, "users", "add", "wes", "--role", "tester", "--password",
               "wes's password", "--db", str(pg_db))[0] == 0
    port = servers.free_port()
    proc = subprocess.Popen([FIELDGATE, "api", "--db", str(pg_db), "--port", str(port),
                             "--workers", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **FAST_ENV})
    try:
        servers.wait_for_port("127.0.0.1", port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        token = httpx.post(f"{base}/api/auth/token", timeout=5,
                           data={"username": "wes", "password": "wes's password"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        # each request is a new connection, accepted by whichever worker the kernel picks
        answers = [httpx.get(f"{base}/api/users/me", headers=headers, timeout=5).status_code
                   for _ in range(20)]
        assert answers == [200] * 20
    finally:
        proc.terminate()
        proc.wait(15)
