"""Sign-in throttling: failed sign-ins counted per user name and per client address; too many
within the window lock that name (or address) out for a while, whether or not the user exists
(so the answer never tells). Kept in the database (table ``login_failures``) so that every API
process and worker agrees; every failure and lock-out is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.models import AuditEntry
from fieldservice.models.tables import login_failures
from fieldservice.settings import ServiceSettings


@dataclass(frozen=True, slots=True)
class Locked:
    until: datetime
    key: str

    def retry_after_s(self, now: datetime) -> int:
        return max(1, int((self.until - now).total_seconds() + 0.999))


def keys(username: str, address: str | None) -> list[tuple[str, str]]:
    """(key, kind) of the counters a sign-in attempt touches."""
    out = [(f"user:{username.strip().lower()}"[:200], "user")]
    if address:
        out.append((f"addr:{address}"[:200], "addr"))
    return out


async def locked(session: AsyncSession, *, username: str, address: str | None,
                 now: datetime) -> Locked | None:
    """The lock-out in force for this attempt, if any (the longest)."""
    names = [k for k, _ in keys(username, address)]
    rows = (await session.execute(sa.select(login_failures.c.key, login_failures.c.locked_until)
                                  .where(login_failures.c.key.in_(names),
                                         login_failures.c.locked_until > now))).all()
    if not rows:
        return None
    key, until = max(rows, key=lambda r: r.locked_until)
    return Locked(until=until, key=key)


async def failed(session: AsyncSession, *, username: str, address: str | None, now: datetime,
                 settings: ServiceSettings) -> Locked | None:
    """Count a failed sign-in (and audit it); returns the lock-out it caused, if any."""
    window = timedelta(seconds=settings.login_window_s)
    caused: Locked | None = None
    for key, kind in keys(username, address):
        limit = (settings.login_max_failures if kind == "user"
                 else settings.login_max_failures_per_address)
        row = (await session.execute(sa.select(login_failures).where(
            login_failures.c.key == key))).first()
        if row is None or row.window_start <= now - window:
            failures, start = 1, now
        else:
            failures, start = row.failures + 1, row.window_start
        until = now + timedelta(seconds=settings.login_lockout_s) if failures >= limit else None
        values = {"failures": failures, "window_start": start, "locked_until": until}
        if row is None:
            await session.execute(login_failures.insert().values(key=key, **values))
        else:
            await session.execute(login_failures.update().where(
                login_failures.c.key == key).values(**values))
        if until is not None:
            caused = Locked(until=until, key=key)
            session.add(_audit(now, username, "locked", address,
                               {"key": [None, key], "failures": [None, failures],
                                "locked_until": [None, until.isoformat()]}))
    session.add(_audit(now, username, "failed", address, {}))
    return caused


async def succeeded(session: AsyncSession, *, username: str) -> None:
    """A good sign-in clears the name's failures (not the address's: one valid account must
    not reset an address that guesses at others)."""
    key = keys(username, None)[0][0]
    await session.execute(login_failures.delete().where(login_failures.c.key == key))


def _audit(now: datetime, username: str, action: str, address: str | None,
           changes: dict) -> AuditEntry:
    return AuditEntry(at=now, actor_pk=None, actor_name=username.strip()[:64] or "?",
                      entity="login", entity_pk=username.strip()[:64] or "?", action=action,
                      changes={"address": [None, address], **changes},
                      context="POST /api/auth/token")
