"""Issue 9 section 3, accounts and tokens, through real HTTP (uvicorn on a free port, PostgreSQL
and SQLite): sign-in throttling and lock-out per user name and per address, answered 429 with
Retry-After, audited, the same for names that do not exist; and tokens revoked by a password
change, a role change or a deactivation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from fieldgate.dburl import DatabaseURL
from fieldservice.api import create_app
from fieldservice.api.state import app_state
from fieldservice.roles import Role
from fieldservice.settings import ServiceSettings
from tests import servers
from tests.fieldservice.factories import FAST_HASHING, PASSWORD, add_user


@pytest.fixture
def site(db: DatabaseURL) -> Iterator[tuple[str, object]]:
    settings = ServiceSettings(login_max_failures=3, login_max_failures_per_address=6,
                               login_window_s=60, login_lockout_s=120, **FAST_HASHING)
    app = create_app(db=db, settings=settings)
    with servers.serving_app(app) as base:
        yield base, app


def sign_in(base: str, username: str, password: str) -> httpx.Response:
    return httpx.post(base + "/api/auth/token",
                      data={"username": username, "password": password})


def token(base: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = sign_in(base, username, password)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def users(app: object, *names_roles: tuple[str, Role]) -> dict[str, int]:
    async def make() -> dict[str, int]:
        return {name: await add_user(app, username=name, role=role)  # type: ignore[arg-type]
                for name, role in names_roles}

    return asyncio.run(make())


def test_repeated_failures_lock_the_name_out_whether_or_not_it_exists(site) -> None:
    base, app = site
    users(app, ("ming", Role.DISPATCHER), ("admin1", Role.ADMIN))
    admin = token(base, "admin1")  # before this address runs out of failures (6)
    for name in ("ming", "nobody-here"):
        answers = [sign_in(base, name, "wrong") for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert answers[0].json()["detail"] == "incorrect username or password"
        locked = answers[2]
        assert 110 <= int(locked.headers["Retry-After"]) <= 120
        assert locked.json()["retry_after_s"] == int(locked.headers["Retry-After"])
        assert "too many failed sign-ins" in locked.json()["detail"]
    # locked: even the right password is refused, without being checked
    refused = sign_in(base, "ming", PASSWORD)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    # the audit log has every failure and the lock-outs
    audit = httpx.get(base + "/api/audit", headers=admin,
                      params={"entity": "login", "limit": 100}).json()["items"]
    actions = [(e["entity_id"], e["action"]) for e in audit]
    assert actions.count(("ming", "failed")) == 3 and ("ming", "locked") in actions
    assert ("nobody-here", "locked") in actions


def test_an_address_guessing_at_many_names_is_locked_out(site) -> None:
    base, app = site
    users(app, ("lan", Role.TECHNICIAN))
    answers = [sign_in(base, f"guess{i}", "wrong") for i in range(6)]
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    # the address is locked: a real user from it waits too
    assert sign_in(base, "lan", PASSWORD).status_code == 429


def test_a_good_sign_in_clears_the_names_failures(site) -> None:
    base, app = site
    users(app, ("wei", Role.INSTALLER))
    assert [sign_in(base, "wei", "wrong").status_code for _ in range(2)] == [401, 401]
    token(base, "wei")
    assert [sign_in(base, "wei", "wrong").status_code for _ in range(2)] == [401, 401]
    token(base, "wei")  # still not locked: the count started again


def test_password_role_and_activity_changes_revoke_earlier_tokens(site) -> None:
    base, app = site
    ids = users(app, ("hua", Role.MANAGER), ("root1", Role.ADMIN), ("jun", Role.FINANCE))
    admin = token(base, "root1")
    old = token(base, "hua")
    second = token(base, "hua")  # another device of the same user
    changed = httpx.post(base + "/api/users/me/password", headers=old,
                         json={"current_password": PASSWORD, "new_password": "n3w-Passw0rd!x"})
    assert changed.status_code == 204
    for headers in (old, second):
        answer = httpx.get(base + "/api/users/me", headers=headers)
        assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    fresh = token(base, "hua", "n3w-Passw0rd!x")
    assert httpx.get(base + "/api/users/me", headers=fresh).status_code == 200

    jun = token(base, "jun")
    user = httpx.get(base + f"/api/users/{ids['jun']}", headers=admin).json()
    user = httpx.patch(base + f"/api/users/{ids['jun']}", headers=admin,
                       json={"version": user["version"], "zone": "Haidian"}).json()
    assert httpx.get(base + "/api/users/me", headers=jun).status_code == 200  # not revoking
    user = httpx.patch(base + f"/api/users/{ids['jun']}", headers=admin,
                       json={"version": user["version"], "role": "tester"}).json()
    assert httpx.get(base + "/api/users/me", headers=jun).status_code == 401
    jun = token(base, "jun")
    assert httpx.get(base + "/api/users/me", headers=jun).json()["role"] == "tester"
    httpx.patch(base + f"/api/users/{ids['jun']}", headers=admin,
                json={"version": user["version"], "active": False})
    assert httpx.get(base + "/api/users/me", headers=jun).status_code == 401
    assert app_state(app).settings.login_max_failures == 3  # the fixture's settings held
