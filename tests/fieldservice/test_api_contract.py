"""Issue 9 §2: the served API answers as its OpenAPI document says, checked by schemathesis
(every check, a bounded run) against a real server on PostgreSQL.

Schemathesis runs as its command line does (``st run``): on a manager's token over every
operation, then on a technician's, an administrator's and finance's over the operations only
they may call. The statuses a valid request may still get are configured in
``schemathesis.toml`` beside this file (a record that does not exist, a step its guards
refuse), the rest is schemathesis' defaults.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
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


#: who runs schemathesis over what: a manager reaches the most operations; the ones only
#: field staff, administrators or finance may call run again with such a token (for a manager
#: they would be checked for their 403 only)
RUNS = {
    Role.MANAGER: [],
    Role.TECHNICIAN: ["--include-path-regex",
                      r"^/api/work-orders/\{order_id\}/(arrive|checklist|complete|depart|"
                      r"parts|payment|photos|register-terminal|report|signature|sim-swap|"
                      r"terminal-swap)"],
    Role.ADMIN: ["--include-path-regex", r"^/api/users"],
    Role.FINANCE: ["--include-path-regex", r"^/api/payments/\{charge_id\}/confirm$"],
}


async def _user(db: DatabaseURL, settings: ServiceSettings, role: Role) -> str:
    engine = create_engine(db)
    try:
        async with session_factory(engine)() as session:
            set_actor(session, Actor.system("contract-test-setup"))
            await create_user(session, passwords=Passwords(settings=settings), data=UserCreate(
                username=f"{role.value}1", password=PASSWORD, role=role))
            await session.commit()
    finally:
        await engine.dispose()
    return f"{role.value}1"


@pytest.fixture(params=list(RUNS), ids=[role.value for role in RUNS])
async def served(request: pytest.FixtureRequest,
                 pg_db: DatabaseURL) -> AsyncIterator[tuple[str, str, Role]]:
    settings = ServiceSettings(secret_key=None, metrics_token=None, metrics_public=False,
                               token_ttl_s=3600, login_max_failures=1000,
                               login_max_failures_per_address=100_000, **FAST_HASHING)
    role: Role = request.param
    name = await _user(pg_db, settings, role)
    with servers.serving_app(create_app(db=pg_db, settings=settings)) as base:
        yield base, name, role


@pytest.mark.timeout(900)  # about a minute and a half alone, more beside the rest of the suite
def test_the_api_answers_as_documented(served: tuple[str, str, Role], tmp_path: Path) -> None:
    base, name, role = served
    token = httpx.post(f"{base}/api/auth/token", data={"username": name, "password": PASSWORD})
    token.raise_for_status()
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file",
         str(HERE / "schemathesis.toml"), "run", f"{base}/openapi.json",
         "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", SEED,
         "--workers", "1", "--no-color", "--generation-database", "none",
         "--phases", "examples,coverage,fuzzing", *RUNS[role],
         "--header", f"Authorization: Bearer {token.json()['access_token']}",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fieldservice.schemathesis_hooks",
             "PYTHONPATH": str(HERE.parents[1])})
    if os.environ.get("FIELDGATE_SCHEMATHESIS_OUT"):
        Path(f"{os.environ['FIELDGATE_SCHEMATHESIS_OUT']}.{role.value}").write_text(run.stdout)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-4000:]
    # it really ran the operations it was given, not an empty selection
    assert "Tested: " in run.stdout and "Tested: 0" not in run.stdout, run.stdout[-3000:]
