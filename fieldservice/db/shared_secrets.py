"""Secrets generated once per database, so every API process on it agrees without setup."""

from __future__ import annotations

import secrets as _secrets

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from fieldservice.models.tables import app_secrets
from fieldservice.timestamps import utcnow


async def shared_secret(engine: AsyncEngine, name: str, *, nbytes: int = 48) -> str:
    """The secret called ``name``; the first caller creates it, concurrent callers (other
    processes) get the row whichever of them inserted first."""
    select = sa.select(app_secrets.c.value).where(app_secrets.c.name == name)
    async with engine.begin() as conn:
        value = (await conn.execute(select)).scalar_one_or_none()
        if value is not None:
            return str(value)
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        await conn.execute(
            insert(app_secrets)
            .values(name=name, value=_secrets.token_urlsafe(nbytes), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[app_secrets.c.name])
        )
        return str((await conn.execute(select)).scalar_one())
