"""What the gateway has received from a terminal (table ``positions``, written by telemetry)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.models.tables import positions
from fieldservice.timestamps import parse_timestamp

#: how many of the terminal's newest fixes (by fix time) are examined. The newest fixes tell
#: whether the installed unit reports now; older rows that arrive late are replays of buffered
#: data. Looking at a few (not one) tolerates a stray fix with a bogus future timestamp.
RECENT_FIXES = 20


async def fix_received_since(session: AsyncSession, terminal_id: str,
                             since: datetime) -> datetime | None:
    """``received_at`` of a valid fix from ``terminal_id`` received at or after ``since``.

    The query walks the (terminal_id, fix_time) primary key backwards, so it stays cheap for
    terminals with years of history. Times are compared in Python: on SQLite another writer's
    text spelling of a timestamp need not sort like ours.
    """
    stmt = (
        sa.select(positions.c.received_at, positions.c.fix_quality)
        .where(positions.c.terminal_id == terminal_id)
        .order_by(positions.c.fix_time.desc())
        .limit(RECENT_FIXES)
    )
    for received_at, quality in (await session.execute(stmt)).all():
        received = parse_timestamp(received_at)
        if received is not None and received >= since and (quality is None or quality > 0):
            return received
    return None
