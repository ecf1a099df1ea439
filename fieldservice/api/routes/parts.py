"""Parts and the price list (prices are a history: POST a new one, never overwrite)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import IdPath, PagingDep, SessionDep, StateDep
from fieldservice.api.gates import PartsReader, PartsWriter
from fieldservice.models.billing import Part
from fieldservice.schemas.billing import (
    PartCreate,
    PartPublic,
    PartUpdate,
    PriceCreate,
    PricePublic,
)
from fieldservice.schemas.common import Page
from fieldservice.services import parts as service
from fieldservice.services.records import get_or_404

router = APIRouter(prefix="/api/parts", tags=["parts and prices"])


async def _public(session: SessionDep, part: Part) -> PartPublic:
    return PartPublic.of(part, (await service.prices_now(session, [part])).get(part.id))


@router.get("", response_model=Page[PartPublic],
            summary="The price list: parts with the price in effect now")
async def list_parts(_: PartsReader, session: SessionDep, paging: PagingDep,
                     q: Annotated[str | None, Query(max_length=200,
                                                    description="code or name")] = None,
                     active: bool | None = None) -> Page[PartPublic]:
    page = await service.list_parts(session, q=q, active=active, limit=paging.limit,
                                    offset=paging.offset)
    prices = await service.prices_now(session, page.items)
    return Page(items=[PartPublic.of(p, prices.get(p.id)) for p in page.items],
                total=page.total, limit=page.limit, offset=page.offset)


@router.post("", response_model=PartPublic, status_code=status.HTTP_201_CREATED,
             summary="Add a part to the price list with its first price")
async def create_part(body: PartCreate, actor: PartsWriter, session: SessionDep,
                      state: StateDep) -> PartPublic:
    part, price = await service.create_part(session, actor=actor, data=body,
                                            currency=state.settings.currency)
    await session.commit()
    return PartPublic.of(part, price)


@router.get("/{part_id}", response_model=PartPublic, summary="One part and its current price")
async def get_part(part_id: IdPath, _: PartsReader, session: SessionDep) -> PartPublic:
    return await _public(session, await get_or_404(session, Part, part_id, "part"))


@router.patch("/{part_id}", response_model=PartPublic,
              summary="Rename a part, or withdraw it (active=false)")
async def update_part(part_id: IdPath, body: PartUpdate, _: PartsWriter,
                      session: SessionDep) -> PartPublic:
    part = await service.update_part(session, part_pk=part_id, data=body)
    await session.commit()
    return await _public(session, part)


@router.get("/{part_id}/prices", response_model=list[PricePublic],
            summary="The part's price history, oldest first")
async def prices(part_id: IdPath, _: PartsReader, session: SessionDep) -> list[PricePublic]:
    part = await get_or_404(session, Part, part_id, "part")
    return [PricePublic.of(p) for p in await service.price_history(session, part.id)]


@router.post("/{part_id}/prices", response_model=PricePublic,
             status_code=status.HTTP_201_CREATED,
             summary="Set a new price from now or a later instant (never backdated)")
async def set_price(part_id: IdPath, body: PriceCreate, actor: PartsWriter,
                    session: SessionDep) -> PricePublic:
    price = await service.set_price(session, actor=actor, part_pk=part_id, data=body)
    await session.commit()
    return PricePublic.of(price)
