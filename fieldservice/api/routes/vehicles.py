"""Vehicles, and the terminal and SIM they carried at any time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import (
    IdPath,
    IdQuery,
    PagingDep,
    SessionDep,
    VehiclesReader,
    VehiclesWriter,
)
from fieldservice.models import Vehicle
from fieldservice.schemas.common import Instant, Page
from fieldservice.schemas.fleet import (
    HardwareAtPublic,
    VehicleCreate,
    VehicleHistory,
    VehiclePublic,
    VehicleUpdate,
)
from fieldservice.services import vehicles as service
from fieldservice.services.records import get_or_404
from fieldservice.timestamps import as_utc, utcnow

router = APIRouter(prefix="/api/vehicles", tags=["vehicles"])


@router.get("", response_model=Page[VehiclePublic], summary="List vehicles")
async def list_vehicles(
    _: VehiclesReader, session: SessionDep, paging: PagingDep,
    customer_id: IdQuery = None,
    plate: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str | None, Query(max_length=200, description="plate, VIN or driver")] = None,
    active: bool | None = None,
) -> Page[VehiclePublic]:
    page = await service.list_vehicles(
        session, customer_pk=customer_id,
        plate="".join(plate.split()).upper() if plate else None, q=q, active=active,
        limit=paging.limit, offset=paging.offset,
    )
    return Page(items=[VehiclePublic.of(v) for v in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("", response_model=VehiclePublic, status_code=status.HTTP_201_CREATED,
             summary="Register a customer's vehicle")
async def create_vehicle(body: VehicleCreate, _: VehiclesWriter,
                         session: SessionDep) -> VehiclePublic:
    vehicle = await service.create_vehicle(session, data=body)
    await session.commit()
    return VehiclePublic.of(vehicle)


@router.get("/{vehicle_id}", response_model=VehiclePublic, summary="One vehicle")
async def get_vehicle(vehicle_id: IdPath, _: VehiclesReader, session: SessionDep) -> VehiclePublic:
    return VehiclePublic.of(await get_or_404(session, Vehicle, vehicle_id, "vehicle"))


@router.patch("/{vehicle_id}", response_model=VehiclePublic,
              summary="Change a vehicle (active=false retires it)")
async def update_vehicle(vehicle_id: IdPath, body: VehicleUpdate, _: VehiclesWriter,
                         session: SessionDep) -> VehiclePublic:
    vehicle = await service.update_vehicle(session, vehicle_pk=vehicle_id, data=body)
    await session.commit()
    return VehiclePublic.of(vehicle)


@router.get("/{vehicle_id}/hardware", response_model=HardwareAtPublic,
            summary="Which terminal, and which SIM in it, the vehicle carried at time `at`")
async def hardware_at(
    vehicle_id: IdPath, _: VehiclesReader, session: SessionDep,
    at: Annotated[Instant | None, Query(description="ISO 8601; naive = UTC; default now")] = None,
) -> HardwareAtPublic:
    return await service.hardware_at(session, vehicle_pk=vehicle_id,
                                     at=as_utc(at) if at else utcnow())


@router.get("/{vehicle_id}/history", response_model=VehicleHistory,
            summary="Every terminal and SIM the vehicle carried, and the swaps")
async def history(vehicle_id: IdPath, _: VehiclesReader, session: SessionDep) -> VehicleHistory:
    return await service.history(session, vehicle_pk=vehicle_id)
