"""Fixtures of the service-layer suite: the real app on a fresh database, and its staff."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from fieldgate.dburl import DatabaseURL
from fieldservice.api import close_app, create_app
from fieldservice.roles import Role
from fieldservice.settings import ServiceSettings
from tests.fieldservice.factories import FAST_HASHING, Staff, make_staff


@pytest.fixture
def settings() -> ServiceSettings:
    return ServiceSettings(secret_key=None, metrics_token=None, metrics_public=False,
                           token_ttl_s=3600, **FAST_HASHING)


@pytest.fixture
async def app(db: DatabaseURL, settings: ServiceSettings) -> AsyncIterator[FastAPI]:
    app = create_app(db=db, settings=settings)
    try:
        yield app
    finally:
        await close_app(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fieldgate.test") as c:
        yield c


@pytest.fixture
async def staff(app: FastAPI, client: httpx.AsyncClient) -> dict[Role, Staff]:
    """One logged-in user per role."""
    return {role: await make_staff(app, client, role) for role in Role}
