"""Fixtures shared by every suite: real PostgreSQL databases, SQLite files, Mosquitto brokers.

- ``pg_db``: a fresh PostgreSQL database per test, cloned from a template migrated once per
  session (``CREATE DATABASE ... TEMPLATE`` is much cheaper than running the migrations).
- ``sqlite_db``: a fresh migrated SQLite file per test (copied from a migrated template).
- ``db``: parametrized over both, for code that must behave the same on each.
- ``mqtt_broker``: a private mosquitto on a free port for the session; ``mqtt_broker_factory``
  for tests that stop and start their own.
- ``private_pg``: a PostgreSQL cluster of the module's own, for tests that stop and start the
  database (outages, crashes).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldgate.dburl import DatabaseURL
from tests import servers


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        servers.admin_connect().close()
    except Exception as exc:  # any failure to reach the server means the suite cannot run
        servers.unavailable("PostgreSQL", f"{servers.PG_ADMIN_URL}: {exc}")
    from fieldgate.db import upgrade

    name = servers.unique_name("fgt_tmpl")
    url = servers.create_database(name)
    try:
        upgrade(DatabaseURL.parse(url))
        yield name
    finally:
        servers.drop_database(name)


@pytest.fixture
def pg_db(pg_template: str) -> Iterator[DatabaseURL]:
    name = servers.unique_name("fgt")
    url = servers.create_database(name, template=pg_template)
    try:
        yield DatabaseURL.parse(url)
    finally:
        servers.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fieldgate.db import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(DatabaseURL.parse(f"sqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> DatabaseURL:
    path = tmp_path / "fieldgate.db"
    shutil.copyfile(sqlite_template, path)
    return DatabaseURL.parse(f"sqlite:///{path}")


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> DatabaseURL:
    """The same test on PostgreSQL and on SQLite."""
    return request.getfixturevalue("pg_db" if request.param == "postgresql" else "sqlite_db")


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[servers.Mosquitto]:
    reason = servers.mosquitto_available()
    if reason:
        servers.unavailable("Mosquitto", reason)
    broker = servers.Mosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
def mqtt_broker_factory() -> Iterator[type[servers.Mosquitto]]:
    reason = servers.mosquitto_available()
    if reason:
        servers.unavailable("Mosquitto", reason)
    started: list[servers.Mosquitto] = []

    def make(port: int | None = None) -> servers.Mosquitto:
        broker = servers.Mosquitto(port)
        started.append(broker)
        return broker

    yield make  # type: ignore[misc]
    for broker in started:
        broker.close()


@pytest.fixture(autouse=True)
async def _no_leaked_tasks() -> Iterator[None]:
    """Fail any async test that leaves tasks running behind it."""
    yield
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    current = asyncio.current_task(loop)
    leaked = [t for t in asyncio.all_tasks(loop) if t is not current and not t.done()]
    if leaked:
        for task in leaked:
            task.cancel()
        await asyncio.gather(*leaked, return_exceptions=True)
        names = ", ".join(sorted(t.get_name() for t in leaked))
        pytest.fail(f"test leaked {len(leaked)} running task(s): {names}")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if servers.UNAVAILABLE:
        terminalreporter.section("SERVER SUITES SKIPPED", sep="!", red=True, bold=True)
        for line in sorted(set(servers.UNAVAILABLE)):
            terminalreporter.write_line(line, red=True, bold=True)


@pytest.fixture(scope="module")
def private_pg() -> Iterator[servers.PrivatePostgres]:
    try:
        pg = servers.PrivatePostgres()
    except FileNotFoundError as exc:
        servers.unavailable("PostgreSQL server binaries", str(exc))
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.close()
