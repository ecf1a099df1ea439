"""Issue 9 section 3: the token signing key rotates without downtime, through real HTTP.
Tokens signed with earlier keys stay valid until they expire, new ones are signed with the new
key in every process within the refresh interval, keys no token can carry are retired; the same
for operator-configured keys (FIELDGATE_SECRET_KEY / FIELDGATE_PREVIOUS_SECRET_KEYS)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import jwt
import pytest
import sqlalchemy as sa

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from fieldservice.api import create_app
from fieldservice.api import state as state_module
from fieldservice.db import create_engine
from fieldservice.db.shared_secrets import TOKEN_KEY, rotate_token_key, token_keys
from fieldservice.models.tables import app_secrets
from fieldservice.roles import Role
from fieldservice.settings import ServiceSettings
from fieldservice.timestamps import utcnow
from tests import servers
from tests.fieldservice.factories import FAST_HASHING, PASSWORD, add_user


def sign_in(base: str, name: str) -> str:
    answer = httpx.post(base + "/api/auth/token", data={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def me(base: str, token: str) -> int:
    return httpx.get(base + "/api/users/me", headers={"Authorization": f"Bearer {token}"}
                     ).status_code


def test_rotation_keeps_old_tokens_and_signs_new_ones_with_the_new_key(
        db: DatabaseURL, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("FIELDGATE_SECRET_KEY", raising=False)
    app = create_app(db=db, settings=ServiceSettings(**FAST_HASHING))
    asyncio.run(add_user(app, username="li", role=Role.DISPATCHER))
    with servers.serving_app(app) as base:
        first = sign_in(base, "li")
        assert "kid" not in jwt.get_unverified_header(first)  # the database's first key
        assert main(["token-keys", "rotate", "--db", str(db)]) == 0
        out = capsys.readouterr().out
        new_key = out.split()[3].rstrip(":")
        assert new_key.startswith(f"{TOKEN_KEY}.")
        assert me(base, first) == 200  # the old key still verifies
        # the processes pick the new key up within the refresh interval (30 s): shortened here
        monkeypatch.setattr(state_module, "KEY_REFRESH", timedelta(0))
        second = sign_in(base, "li")
        assert jwt.get_unverified_header(second)["kid"] == new_key
        assert me(base, second) == 200 and me(base, first) == 200
        assert main(["token-keys", "list", "--db", str(db)]) == 0
        listing = capsys.readouterr().out
        assert f"{new_key}" in listing and "signing" in listing and "verifying" in listing

    # another process (a second API on the same database) verifies both at once
    other = create_app(db=db, settings=ServiceSettings(**FAST_HASHING))
    with servers.serving_app(other) as base:
        assert me(base, first) == 200 and me(base, second) == 200


def test_keys_no_token_can_carry_are_retired(db: DatabaseURL) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        engine = create_engine(db)
        try:
            await token_keys(engine)  # the first key
            old = utcnow() - timedelta(days=3)
            async with engine.begin() as conn:
                await conn.execute(app_secrets.update().where(
                    app_secrets.c.name == TOKEN_KEY).values(created_at=old))
                await conn.execute(app_secrets.insert().values(
                    name=f"{TOKEN_KEY}.old", value="x" * 64,
                    created_at=old + timedelta(hours=1)))
            _name, retired = await rotate_token_key(engine, token_ttl=timedelta(hours=8),
                                                    refresh=timedelta(seconds=30))
            left = [n for n, _v, _c in await token_keys(engine)]
            return retired, left
        finally:
            await engine.dispose()

    retired, left = asyncio.run(scenario())
    # the first key's successor has signed for days: gone; the successor itself signed until
    # a moment ago: its tokens are still alive, so it stays
    assert retired == [TOKEN_KEY]
    assert left[0] == f"{TOKEN_KEY}.old" and len(left) == 2


def test_configured_keys_rotate_through_the_previous_keys_setting(db: DatabaseURL) -> None:
    old_key, new_key = "o" * 40, "n" * 40
    first_app = create_app(db=db, settings=ServiceSettings(secret_key=old_key, **FAST_HASHING))
    asyncio.run(add_user(first_app, username="zhao", role=Role.MANAGER))
    with servers.serving_app(first_app) as base:
        old_token = sign_in(base, "zhao")
    rotated = create_app(db=db, settings=ServiceSettings(
        secret_key=new_key, previous_secret_keys=[old_key], **FAST_HASHING))
    with servers.serving_app(rotated) as base:
        assert me(base, old_token) == 200
        new_token = sign_in(base, "zhao")
        assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(
            old_token)["kid"]
    dropped = create_app(db=db, settings=ServiceSettings(secret_key=new_key, **FAST_HASHING))
    with servers.serving_app(dropped) as base:
        assert me(base, new_token) == 200
        assert me(base, old_token) == 401  # the old key left the settings: its tokens end


def test_the_cli_refuses_to_rotate_configured_keys(db: DatabaseURL, capsys,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDGATE_SECRET_KEY", "k" * 40)
    assert main(["token-keys", "rotate", "--db", str(db)]) == 2
    assert "FIELDGATE_PREVIOUS_SECRET_KEYS" in capsys.readouterr().err
    engine = sa.create_engine(db.sqlalchemy_url(asynchronous=False))
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.select(app_secrets.c.name))]
    engine.dispose()
    assert not any(n.startswith(f"{TOKEN_KEY}.") for n in names)
