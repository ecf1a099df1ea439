"""Reading the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.models import AuditEntry
from fieldservice.services.records import Page, paginate


async def list_entries(session: AsyncSession, *, entity: str | None, entity_pk: str | None,
                       actor_name: str | None, since: datetime | None, until: datetime | None,
                       limit: int, offset: int) -> Page[AuditEntry]:
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_pk is not None:
        stmt = stmt.where(AuditEntry.entity_pk == entity_pk)
    if actor_name is not None:
        stmt = stmt.where(AuditEntry.actor_name == actor_name)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return await paginate(session, stmt, limit=limit, offset=offset)
