"""What the app keeps for the lifetime of the process: engine, sessions, codecs, metrics."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import timedelta

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fieldservice.api.metrics import ApiMetrics
from fieldservice.db import create_engine, session_factory
from fieldservice.db.shared_secrets import TOKEN_KEY, token_keys
from fieldservice.passwords import Passwords
from fieldservice.settings import ServiceSettings
from fieldservice.tokens import TokenCodec
from fieldservice.workflow import TransitionTable
from telemetry.dburl import DatabaseURL

#: how often a process re-reads the signing keys: a rotated key signs everywhere within this
KEY_REFRESH = timedelta(seconds=30)
#: the least time between two reads of the keys forced by tokens naming an unknown key
RELOAD_AT_MOST_S = 1.0


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
        self._codec_at = 0.0
        self._codec_lock = asyncio.Lock()

    async def token_codec(self, *, reload: bool = False) -> TokenCodec:
        """The token codec: signing with FIELDGATE_SECRET_KEY (earlier keys in
        FIELDGATE_PREVIOUS_SECRET_KEYS still verify), else with the newest key in the database
        (every key there verifies). Database keys are re-read every ``KEY_REFRESH`` (a rotation
        reaches every process without a restart) or when ``reload`` (a token named a key this
        process has not seen). Loaded on first use: ASGI test transports run no lifespan."""
        if self._codec_due(reload):
            async with self._codec_lock:
                if self._codec_due(reload):  # another request may have loaded it meanwhile
                    self._codec = await self._load_codec()
                    self._codec_at = time.monotonic()
        assert self._codec is not None
        return self._codec

    def _codec_due(self, reload: bool) -> bool:
        if self._codec is None:
            return True
        if self.settings.secret_key is not None:
            return False  # configured keys change with the settings only (a restart)
        age = time.monotonic() - self._codec_at
        # an unknown key forces a read at most once a second: tokens naming made-up keys must
        # not turn every request into a database read
        return age > KEY_REFRESH.total_seconds() or (reload and age > RELOAD_AT_MOST_S)

    async def _load_codec(self) -> TokenCodec:
        ttl = timedelta(seconds=self.settings.token_ttl_s)
        configured = self.settings.secret_key
        if configured is not None:
            secrets = [configured.get_secret_value(),
                       *(k.get_secret_value() for k in self.settings.previous_secret_keys)]
            keys = {configured_kid(k): k for k in secrets}
            return TokenCodec(secret=secrets[0], ttl=ttl, kid=configured_kid(secrets[0]),
                              keys=keys)
        stored = await token_keys(self.engine)
        name, secret, _created = stored[-1]
        # the very first key signed without a kid before keys were named: keep it that way
        # until a rotation, so a database's existing tokens and new ones look alike
        kid = None if name == TOKEN_KEY else name
        return TokenCodec(secret=secret, ttl=ttl, kid=kid,
                          keys={n: v for n, v, _c in stored})

    async def aclose(self) -> None:
        if self._owns_engine:
            await self.engine.dispose()


def configured_kid(secret: str) -> str:
    """The name a configured key signs under: a digest, never the key."""
    return "cfg-" + hashlib.sha256(secret.encode()).hexdigest()[:16]


def service_state(request: Request) -> ServiceState:
    return request.app.state.fieldservice


def app_state(app: FastAPI) -> ServiceState:
    return app.state.fieldservice
