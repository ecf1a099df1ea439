"""Issue 9 §2: the served API answers as its OpenAPI document says, checked by schemathesis
(every check, a bounded run) against a real server on PostgreSQL.

Schemathesis runs as its command line does (``st run``), on a manager's token: the manager
reaches the most operations; what a manager may not do is a documented 403. The statuses a
valid request may still get are configured in ``schemathesis.toml`` beside this file (a record
that does not exist, a step its guards refuse), the rest is schemathesis' defaults.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fieldgate.dburl import DatabaseURL
from fieldservice.actors import Actor
from fieldservice.api import create_app
from fieldservice.db import create_engine, session_factory, set_actor
from fieldservice.passwords import Passwords
from fieldservice.roles import Role
from fieldservice.schemas.people import UserCreate
from fieldservice.services.users import create_user
from fieldservice.settings import ServiceSettings
from tests import servers
from tests.fieldservice.factories import FAST_HASHING

HERE = Path(__file__).parent
PASSWORD = "contract-test-pass-1"
#: examples per operation and phase: bounded so that the run stays within a minute or two
EXAMPLES = int(os.environ.get("FIELDGATE_SCHEMATHESIS_EXAMPLES", "5"))
#: a fixed seed: the same cases on every run (another seed explores further)
SEED = os.environ.get("FIELDGATE_SCHEMATHESIS_SEED", "20261207")


async def _manager(db: DatabaseURL, settings: ServiceSettings) -> None:
    engine = create_engine(db)
    try:
        async with session_factory(engine)() as session:
            set_actor(session, Actor.system("contract-test-setup"))
            await create_user(session, passwords=Passwords(settings=settings), data=UserCreate(
                username="manager1", password=PASSWORD, role=Role.MANAGER))
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture
async def served(pg_db: DatabaseURL) -> Iterator[str]:
    settings = ServiceSettings(secret_key=None, metrics_token=None, metrics_public=False,
                               token_ttl_s=3600, login_max_failures=1000,
                               login_max_failures_per_address=100_000, **FAST_HASHING)
    await _manager(pg_db, settings)
    with servers.serving_app(create_app(db=pg_db, settings=settings)) as base:
        yield base


@pytest.mark.timeout(900)  # about two minutes alone, more beside the rest of the suite
def test_the_api_answers_as_documented(served: str, tmp_path: Path) -> None:
    token = httpx.post(f"{served}/api/auth/token",
                       data={"username": "manager1", "password": PASSWORD})
    token.raise_for_status()
    report = tmp_path / "report.json"
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file",
         str(HERE / "schemathesis.toml"), "run", f"{served}/openapi.json",
         "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", SEED,
         "--workers", "1", "--no-color", "--generation-database", "none",
         "--phases", "examples,coverage,fuzzing",
         "--header", f"Authorization: Bearer {token.json()['access_token']}",
         "--report", "json", "--report-json-path", str(report)],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fieldservice.schemathesis_hooks",
             "PYTHONPATH": str(HERE.parents[1])})
    if os.environ.get("FIELDGATE_SCHEMATHESIS_OUT"):
        Path(os.environ["FIELDGATE_SCHEMATHESIS_OUT"]).write_text(run.stdout)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
    summary = json.loads(report.read_text())
    print(json.dumps(summary)[:2000])
