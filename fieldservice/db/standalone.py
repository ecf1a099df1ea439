"""Service operations outside the API (the command line): one engine, one session, an actor."""

from __future__ import annotations

import getpass
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.db.audit import set_actor
from fieldservice.db.engine import create_engine, session_factory
from telemetry.dburl import DatabaseURL

#: the first schema revision holding the service tables
SERVICE_SCHEMA = "0002"


def schema_problem(db: DatabaseURL) -> str | None:
    """Why the service layer cannot work on ``db`` (unreachable, not migrated), or None."""
    if db.is_sqlite and not db.sqlite_path.exists():
        # connecting would create an empty file
        return f"no database file {db.sqlite_path}: run `fieldgate db upgrade --db {db}`"
    engine = sa.create_engine(db.sqlalchemy_url(asynchronous=False))
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                revision = None
            else:
                revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.SQLAlchemyError as exc:
        return f"cannot open {db}: {exc.orig if hasattr(exc, 'orig') else exc}"
    finally:
        engine.dispose()
    if revision is None or revision < SERVICE_SCHEMA:
        return f"{db} has no service schema yet: run `fieldgate db upgrade --db {db}`"
    return None


def command_line_actor() -> Actor:
    """The audit log's actor for command-line changes: ``cli:<login name>``."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container user without a passwd entry)
        name = str(os.getuid())
    return Actor.system(f"cli:{name}"[:64])


@asynccontextmanager
async def standalone_session(db: DatabaseURL, *, actor: Actor,
                             context: str | None = None) -> AsyncIterator[AsyncSession]:
    """A session on ``db`` whose writes are audited as ``actor``; the caller commits."""
    engine = create_engine(db)
    try:
        async with session_factory(engine)() as session:
            set_actor(session, actor, context=context)
            yield session
    finally:
        await engine.dispose()
