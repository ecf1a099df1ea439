"""Gap-tolerant, collision-free counters for human-readable numbers, on both databases.

``UPDATE counters SET value = value + 1 ... RETURNING value`` takes the row lock on PostgreSQL
(concurrent transactions queue on it until the holder commits) and runs under SQLite's write
lock; the first number of a new counter is created with an insert that ignores a concurrent
twin. A rolled-back transaction gives its number back, so numbers stay dense in practice.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.models.tables import counters


async def next_value(session: AsyncSession, name: str) -> int:
    bump = (
        sa.update(counters)
        .where(counters.c.name == name)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    )
    value = (await session.execute(bump)).scalar_one_or_none()
    if value is not None:
        return int(value)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(counters).values(name=name, value=0).on_conflict_do_nothing(
            index_elements=[counters.c.name]
        )
    )
    return int((await session.execute(bump)).scalar_one())


async def next_work_order_number(session: AsyncSession, *, year: int) -> str:
    """``WO-<year>-<6 digits>``, numbered from 1 each year."""
    value = await next_value(session, f"work_order:{year}")
    return f"WO-{year}-{value:06d}"
