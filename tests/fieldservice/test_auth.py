"""Tokens, passwords, the shared signing key, /health and /metrics."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import APIRouter
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from fieldservice.api import close_app, create_app
from fieldservice.api.state import app_state
from fieldservice.models import User
from fieldservice.roles import Role
from fieldservice.settings import ServiceSettings
from fieldservice.timestamps import utcnow
from fieldservice.tokens import TokenCodec
from tests.fieldservice.factories import FAST_HASHING, PASSWORD, add_user, login, ok


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_password_flow(app, client):
    await add_user(app, username="ada", role=Role.DISPATCHER)
    answer = ok(await client.post("/api/auth/token",
                                  data={"username": "ada", "password": PASSWORD}))
    assert answer["token_type"] == "bearer" and answer["role"] == "dispatcher"
    assert 3590 <= answer["expires_in"] <= 3600
    me = ok(await client.get("/api/users/me",
                             headers={"Authorization": f"Bearer {answer['access_token']}"}))
    assert me["username"] == "ada" and "password_hash" not in me
    for username, password in (("ada", "wrong password"), ("nobody", PASSWORD)):
        refused = await client.post("/api/auth/token",
                                    data={"username": username, "password": password})
        assert refused.status_code == 401
        assert refused.json()["detail"] == "incorrect username or password"


async def test_deactivation_and_role_change_take_effect_at_once(app, client, staff):
    admin = staff[Role.ADMIN]
    user_id = await add_user(app, username="eve", role=Role.MANAGER)
    headers = await login(client, "eve")
    assert (await client.get("/api/audit", headers=headers)).status_code == 200
    user = ok(await client.get(f"/api/users/{user_id}", headers=admin.headers))
    user = ok(await client.patch(f"/api/users/{user_id}", headers=admin.headers,
                                 json={"version": user["version"], "role": "finance"}))
    # the role change revoked the tokens issued before it (issue 9 section 3)
    revoked = await client.get("/api/audit", headers=headers)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    headers = await login(client, "eve")
    assert (await client.get("/api/audit", headers=headers)).status_code == 403
    ok(await client.patch(f"/api/users/{user_id}", headers=admin.headers,
                          json={"version": user["version"], "active": False}))
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401
    refused = await client.post("/api/auth/token", data={"username": "eve",
                                                         "password": PASSWORD})
    assert refused.status_code == 401
    # an admin cannot lock himself out
    me = ok(await client.get("/api/users/me", headers=admin.headers))
    answer = await client.patch(f"/api/users/{admin.id}", headers=admin.headers,
                                json={"version": me["version"], "active": False})
    assert answer.status_code == 409


async def test_expired_and_foreign_tokens_are_refused(app, client):
    user_id = await add_user(app, username="bob", role=Role.TESTER)
    codec = await app_state(app).token_codec()
    expired = codec.issue(user_pk=user_id, username="bob", now=utcnow() - timedelta(hours=2))
    foreign = TokenCodec(secret="another key " * 4, ttl=timedelta(hours=1)).issue(
        user_pk=user_id, username="bob", now=utcnow())
    for token in (expired.token, foreign.token, "not-a-jwt"):
        answer = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
        assert answer.json()["detail"] == "invalid or expired token"


async def test_processes_on_one_database_share_the_generated_key(app, client, db, settings):
    """Two API processes with no configured key agree (the key lives in the database); a
    process with FIELDGATE_SECRET_KEY signs with that instead."""
    await add_user(app, username="carl", role=Role.TESTER)
    headers = await login(client, "carl")
    second = create_app(db=db, settings=settings)
    keyed = create_app(db=db, settings=ServiceSettings(secret_key=SecretStr("k" * 40),
                                                       **FAST_HASHING))
    try:
        async with _client(second) as other, _client(keyed) as third:
            ok(await other.get("/api/users/me", headers=headers))
            assert (await third.get("/api/users/me", headers=headers)).status_code == 401
            ok(await third.get("/api/users/me", headers=await login(third, "carl")))
    finally:
        await close_app(second)
        await close_app(keyed)


async def test_hash_is_upgraded_when_cost_settings_change(app, db, client):
    await add_user(app, username="dora", role=Role.TESTER)
    stronger = create_app(db=db, settings=ServiceSettings(
        argon2_time_cost=2, argon2_memory_kib=16, argon2_parallelism=1))
    try:
        async with _client(stronger) as other:
            await login(other, "dora")
        async with app_state(app).sessions() as session:
            from sqlalchemy import select
            user = (await session.execute(select(User).where(User.username == "dora"))).scalar_one()
            assert "t=2" in user.password_hash and "m=16" in user.password_hash
    finally:
        await close_app(stronger)
    await login(client, "dora")  # the new hash verifies


async def test_own_password_change(app, client):
    await add_user(app, username="fay", role=Role.TECHNICIAN)
    headers = await login(client, "fay")
    wrong = await client.post("/api/users/me/password", headers=headers, json={
        "current_password": "guess", "new_password": "a new password"})
    assert wrong.status_code == 403
    answer = await client.post("/api/users/me/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": "a new password"})
    assert answer.status_code == 204
    await login(client, "fay", "a new password")


async def test_health_and_metrics(app, client, staff):
    assert ok(await client.get("/health"))["database"] == "ok"
    assert (await client.get("/metrics")).status_code == 401
    text = (await client.get("/metrics", headers=staff[Role.TESTER].headers)).text
    assert 'fieldservice_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'fieldservice_logins_total{outcome="issued"}' in text


async def test_app_accepts_metrics_routers_and_a_scraper_token(db):
    gateway = CollectorRegistry()
    Counter("fieldgate_sentences", "sentences read", registry=gateway).inc(7)
    extra = Counter("fieldgate_demo_things", "things", registry=None)
    router = APIRouter()

    @router.get("/extra")
    async def extra_route() -> dict[str, str]:
        return {"page": "extra"}

    app = create_app(db=db, settings=ServiceSettings(metrics_token=SecretStr("scrape-me"),
                                                     **FAST_HASHING),
                     routers=[router], metrics_registries=[gateway], metrics_collectors=[extra])
    try:
        async with _client(app) as client:
            assert ok(await client.get("/extra")) == {"page": "extra"}
            text = (await client.get("/metrics",
                                     headers={"Authorization": "Bearer scrape-me"})).text
            assert "fieldgate_sentences_total 7.0" in text
            assert "fieldgate_demo_things_total 0.0" in text
            bad = await client.get("/metrics", headers={"Authorization": "Bearer scrape-you"})
            assert bad.status_code == 401
    finally:
        await close_app(app)
    public = create_app(db=db, settings=ServiceSettings(metrics_public=True, **FAST_HASHING))
    try:
        async with _client(public) as client:
            assert (await client.get("/metrics")).status_code == 200
    finally:
        await close_app(public)
