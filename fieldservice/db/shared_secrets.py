"""Secrets generated once per database, so every API process on it agrees without setup."""

from __future__ import annotations

import secrets as _secrets
from datetime import datetime, timedelta

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


# -- token signing keys ------------------------------------------------------------------------

#: the first generated key's name (and the prefix of every rotated one)
TOKEN_KEY = "api_token_hs256"


async def token_keys(engine: AsyncEngine) -> list[tuple[str, str, datetime]]:
    """(name, secret, created) of every token signing key, oldest first; the first call on a
    new database generates the first one (only then: a retired first key stays retired)."""
    select = (sa.select(app_secrets.c.name, app_secrets.c.value, app_secrets.c.created_at)
              .where(sa.or_(app_secrets.c.name == TOKEN_KEY,
                            app_secrets.c.name.like(f"{TOKEN_KEY}.%")))
              .order_by(app_secrets.c.created_at, app_secrets.c.name))
    async with engine.connect() as conn:
        rows = (await conn.execute(select)).all()
    if not rows:
        await shared_secret(engine, TOKEN_KEY)
        async with engine.connect() as conn:
            rows = (await conn.execute(select)).all()
    return [(r.name, str(r.value), r.created_at) for r in rows]


async def rotate_token_key(engine: AsyncEngine, *, token_ttl: timedelta,
                           refresh: timedelta) -> tuple[str, list[str]]:
    """Add a new signing key (every process signs with it within ``refresh``) and retire the
    keys no valid token can carry any more: those whose successor has been signing for longer
    than a token lives. Returns the new key's name and the retired ones'."""
    keys = await token_keys(engine)
    now = utcnow()
    name = f"{TOKEN_KEY}.{now:%Y%m%dT%H%M%S}.{_secrets.token_hex(3)}"
    retired = [old for (old, _v, _c), (_n, _w, successor_at) in zip(keys, keys[1:], strict=False)
               if successor_at + token_ttl + refresh < now]
    async with engine.begin() as conn:
        await conn.execute(app_secrets.insert().values(
            name=name, value=_secrets.token_urlsafe(48), created_at=now))
        if retired:
            await conn.execute(app_secrets.delete().where(app_secrets.c.name.in_(retired)))
    return name, retired
