"""The SIM card registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fieldservice.api.deps import PagingDep, RegistryReader, RegistryWriter, SessionDep
from fieldservice.models import SimState
from fieldservice.schemas.common import Page
from fieldservice.schemas.fleet import SimCreate, SimDetail, SimPeriod, SimPublic, SimUpdate
from fieldservice.services import registry as service

router = APIRouter(prefix="/api/sims", tags=["sims"])
IccidPath = Annotated[str, Path(max_length=22, description="ICCID")]


@router.get("", response_model=Page[SimPublic], summary="List SIM cards")
async def list_sims(
    _: RegistryReader, session: SessionDep, paging: PagingDep,
    state: SimState | None = None,
    carrier: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=22, description="part of ICCID or MSISDN")] = None,
) -> Page[SimPublic]:
    page = await service.list_sims(session, state=state, carrier=carrier, q=q,
                                   limit=paging.limit, offset=paging.offset)
    return Page(items=[SimPublic.model_validate(s) for s in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("", response_model=SimDetail, status_code=status.HTTP_201_CREATED,
             summary="Register a SIM card in stock")
async def create_sim(body: SimCreate, _: RegistryWriter, session: SessionDep) -> SimDetail:
    sim = await service.create_sim(session, data=body)
    await session.commit()
    return await service.sim_detail(session, sim)


@router.get("/{iccid}", response_model=SimDetail, summary="One SIM card and its terminal")
async def get_sim(iccid: IccidPath, _: RegistryReader, session: SessionDep) -> SimDetail:
    return await service.sim_detail(session, await service.get_sim(session, iccid))


@router.patch("/{iccid}", response_model=SimDetail, summary="Change a SIM card")
async def update_sim(iccid: IccidPath, body: SimUpdate, _: RegistryWriter,
                     session: SessionDep) -> SimDetail:
    sim = await service.update_sim(session, iccid=iccid, data=body)
    await session.commit()
    return await service.sim_detail(session, sim)


@router.get("/{iccid}/history", response_model=list[SimPeriod],
            summary="The terminals this SIM was in, over time")
async def history(iccid: IccidPath, _: RegistryReader, session: SessionDep) -> list[SimPeriod]:
    return await service.sim_history(session, await service.get_sim(session, iccid))
