"""Operations every resource shares: fetch-or-404, version checks, patching, paging."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.errors import NotFound, StaleVersion

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


async def get_or_404(session: AsyncSession, model: type[T], pk: int, what: str) -> T:
    obj = await session.get(model, pk)
    if obj is None:
        raise NotFound(f"no {what} with id {pk}")
    return obj


def check_version(obj: Any, sent: int, what: str) -> None:
    if obj.version != sent:
        raise StaleVersion(what, current=obj.version, sent=sent)


def apply_changes(obj: Any, changes: Mapping[str, Any]) -> list[str]:
    """Set the attributes that differ; return their names (the audit log gets the values)."""
    changed = []
    for key, value in changes.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed.append(key)
    return changed


async def paginate(session: AsyncSession, stmt: sa.Select[Any], *, limit: int,
                   offset: int) -> Page[Any]:
    total = (await session.execute(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )).scalar_one()
    items = (await session.execute(stmt.limit(limit).offset(offset))).scalars().all()
    return Page(items=items, total=int(total), limit=limit, offset=offset)
