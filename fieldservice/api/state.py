"""What the app keeps for the lifetime of the process: engine, sessions, codecs, metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fieldgate.dburl import DatabaseURL
from fieldservice.api.metrics import ApiMetrics
from fieldservice.db import create_engine, session_factory
from fieldservice.db.shared_secrets import shared_secret
from fieldservice.passwords import Passwords
from fieldservice.settings import ServiceSettings
from fieldservice.tokens import TokenCodec
from fieldservice.workflow import TransitionTable

#: name of the generated token-signing key in table app_secrets
TOKEN_SECRET_NAME = "api_token_hs256"


class ServiceState:
    def __init__(self, *, db: DatabaseURL, settings: ServiceSettings,
                 transitions: TransitionTable, metrics: ApiMetrics,
                 engine: AsyncEngine | None = None) -> None:
        self.db = db
        self.settings = settings
        self.transitions = transitions
        self.metrics = metrics
        self.engine = engine or create_engine(db)
        self._owns_engine = engine is None
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.passwords = Passwords(settings=settings)
        self._codec: TokenCodec | None = None
        self._codec_lock = asyncio.Lock()

    async def token_codec(self) -> TokenCodec:
        """From FIELDGATE_SECRET_KEY, else the key generated once in the database (loaded on
        first use: ASGI test transports do not run lifespan events)."""
        if self._codec is None:
            async with self._codec_lock:
                if self._codec is None:
                    configured = self.settings.secret_key
                    secret = (configured.get_secret_value() if configured
                              else await shared_secret(self.engine, TOKEN_SECRET_NAME))
                    self._codec = TokenCodec(secret=secret,
                                             ttl=timedelta(seconds=self.settings.token_ttl_s))
        return self._codec

    async def aclose(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()


def service_state(request: Request) -> ServiceState:
    return request.app.state.fieldservice


def app_state(app: FastAPI) -> ServiceState:
    return app.state.fieldservice
