"""Parts and the price list: prices are a history, never overwritten."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import Conflict, InvalidInput
from fieldservice.models.billing import Part, PartPrice
from fieldservice.schemas.billing import PartCreate, PartUpdate, PriceCreate
from fieldservice.services.records import Page, apply_changes, check_version, get_or_404, paginate
from fieldservice.timestamps import as_utc, utcnow

#: a price "from now" sent by a client whose clock is a little behind is still "now"
CLOCK_SLACK = timedelta(minutes=5)


async def part_by_code(session: AsyncSession, code: str) -> Part | None:
    return (await session.execute(sa.select(Part).where(Part.code == code))).scalars().first()


async def create_part(session: AsyncSession, *, actor: Actor, data: PartCreate,
                      currency: str) -> tuple[Part, PartPrice]:
    if await part_by_code(session, data.code) is not None:
        raise Conflict(f"part code {data.code} is taken")
    now = utcnow()
    part = Part(code=data.code, name=data.name, currency=data.currency or currency,
                notes=data.notes, active=True)
    session.add(part)
    await session.flush()
    price = PartPrice(part_pk=part.id, unit_price=data.unit_price, currency=part.currency,
                      effective_from=now, set_at=now, set_by=actor.name, note="initial price")
    session.add(price)
    await session.flush()
    return part, price


async def update_part(session: AsyncSession, *, part_pk: int, data: PartUpdate) -> Part:
    part = await get_or_404(session, Part, part_pk, "part")
    check_version(part, data.version, f"part {part.code}")
    apply_changes(part, data.changes())
    await session.flush()
    return part


async def set_price(session: AsyncSession, *, actor: Actor, part_pk: int,
                    data: PriceCreate) -> PartPrice:
    """A new price from ``effective_from`` (now by default). Earlier prices stay as they were:
    repairs already priced keep their prices, and the history answers "what did it cost on
    day D"."""
    part = await get_or_404(session, Part, part_pk, "part")
    check_version(part, data.version, f"part {part.code}")
    now = utcnow()
    start = as_utc(data.effective_from) if data.effective_from else now
    if start < now - CLOCK_SLACK:
        raise InvalidInput("effective_from is in the past: prices are never backdated (a "
                           "repair priced meanwhile would disagree with the list)")
    start = max(start, now)
    clash = (await session.execute(sa.select(PartPrice.id).where(
        PartPrice.part_pk == part.id, PartPrice.effective_from == start))).first()
    if clash is not None:
        raise Conflict(f"part {part.code} already has a price from {start.isoformat()}")
    price = PartPrice(part_pk=part.id, unit_price=data.unit_price, currency=part.currency,
                      effective_from=start, set_at=now, set_by=actor.name, note=data.note)
    session.add(price)
    # a new price is a change of the part: bump its version (optimistic concurrency)
    part.updated_at = now
    await session.flush()
    return price


async def price_at(session: AsyncSession, part_pk: int, at: datetime) -> PartPrice | None:
    return (await session.execute(
        sa.select(PartPrice).where(PartPrice.part_pk == part_pk, PartPrice.effective_from <= at)
        .order_by(PartPrice.effective_from.desc(), PartPrice.id.desc()).limit(1)
    )).scalars().first()


async def prices_now(session: AsyncSession, parts: Sequence[Part],
                     at: datetime | None = None) -> dict[int, PartPrice]:
    """The price in effect at ``at`` (now) of each part, in one query."""
    if not parts:
        return {}
    at = at or utcnow()
    rows = (await session.execute(
        sa.select(PartPrice).where(PartPrice.part_pk.in_([p.id for p in parts]),
                                   PartPrice.effective_from <= at)
        .order_by(PartPrice.part_pk, PartPrice.effective_from, PartPrice.id)
    )).scalars()
    current: dict[int, PartPrice] = {}
    for price in rows:
        current[price.part_pk] = price  # the last one in time order wins
    return current


async def price_history(session: AsyncSession, part_pk: int) -> list[PartPrice]:
    return list((await session.execute(
        sa.select(PartPrice).where(PartPrice.part_pk == part_pk)
        .order_by(PartPrice.effective_from, PartPrice.id)
    )).scalars())


async def list_parts(session: AsyncSession, *, q: str | None, active: bool | None,
                     limit: int, offset: int) -> Page[Part]:
    stmt = sa.select(Part).order_by(Part.code)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(Part.code).like(pattern),
                                 sa.func.lower(Part.name).like(pattern)))
    if active is not None:
        stmt = stmt.where(Part.active == active)
    return await paginate(session, stmt, limit=limit, offset=offset)
