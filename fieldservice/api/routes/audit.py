"""The audit log (read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fieldservice.api.deps import AuditReader, PagingDep, SessionDep
from fieldservice.schemas.common import Instant, Page
from fieldservice.schemas.work_orders import AuditEntryPublic
from fieldservice.services import audit_log as service
from fieldservice.timestamps import as_utc

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEntryPublic],
            summary="Changes to records, newest first: who, when, what, before/after")
async def list_entries(
    _: AuditReader, session: SessionDep, paging: PagingDep,
    entity: Annotated[str | None, Query(max_length=64, description="table name, e.g. "
                                                                   "work_orders")] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64, description="username")] = None,
    since: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    until: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> Page[AuditEntryPublic]:
    page = await service.list_entries(
        session, entity=entity, entity_pk=entity_id, actor_name=actor,
        since=as_utc(since) if since else None, until=as_utc(until) if until else None,
        limit=paging.limit, offset=paging.offset,
    )
    return Page(items=[AuditEntryPublic.of(e) for e in page.items], total=page.total,
                limit=page.limit, offset=page.offset)
