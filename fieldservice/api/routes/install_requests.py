"""Install requests: a customer's vehicle list, one install order per vehicle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import (
    IdPath,
    IdQuery,
    InstallRequestsCreator,
    InstallRequestsDecider,
    InstallRequestsReader,
    PagingDep,
    SessionDep,
    StateDep,
)
from fieldservice.models import InstallRequest
from fieldservice.schemas.common import Instant, Page
from fieldservice.schemas.work_orders import (
    DecisionBody,
    InstallRequestCreate,
    InstallRequestPublic,
)
from fieldservice.services import install_requests as service
from fieldservice.services.records import get_or_404
from fieldservice.timestamps import as_utc

router = APIRouter(prefix="/api/install-requests", tags=["install requests"])


async def _public(session: SessionDep, request: InstallRequest) -> InstallRequestPublic:
    return InstallRequestPublic.of(request, await service.orders_of(session, request))


@router.get("", response_model=Page[InstallRequestPublic], summary="List install requests")
async def list_requests(
    _: InstallRequestsReader, session: SessionDep, paging: PagingDep,
    customer_id: IdQuery = None,
    created_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    created_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> Page[InstallRequestPublic]:
    page = await service.list_requests(
        session, customer_pk=customer_id,
        created_from=as_utc(created_from) if created_from else None,
        created_to=as_utc(created_to) if created_to else None,
        limit=paging.limit, offset=paging.offset,
    )
    return Page(items=[await _public(session, r) for r in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("", response_model=InstallRequestPublic, status_code=status.HTTP_201_CREATED,
             summary="Take a customer's install request: one install order per vehicle, each "
                     "submitted for approval")
async def create_request(body: InstallRequestCreate, actor: InstallRequestsCreator,
                         session: SessionDep, state: StateDep) -> InstallRequestPublic:
    request, orders = await service.create_install_request(session, actor=actor,
                                                           table=state.transitions, data=body)
    await session.commit()
    return InstallRequestPublic.of(request, orders)


@router.get("/{request_id}", response_model=InstallRequestPublic,
            summary="One install request with its orders")
async def get_request(request_id: IdPath, _: InstallRequestsReader,
                      session: SessionDep) -> InstallRequestPublic:
    return await _public(session, await get_or_404(session, InstallRequest, request_id,
                                                   "install request"))


async def _decide(request_id: int, body: DecisionBody, actor: InstallRequestsDecider,
                  session: SessionDep, state: StateDep, *, approve: bool) -> InstallRequestPublic:
    request = await service.decide(session, actor=actor, table=state.transitions,
                                   request_pk=request_id, body=body, approve=approve)
    await session.commit()
    return await _public(session, request)


@router.post("/{request_id}/approve", response_model=InstallRequestPublic,
             summary="Approve every order of the request still awaiting approval")
async def approve(request_id: IdPath, body: DecisionBody, actor: InstallRequestsDecider,
                  session: SessionDep, state: StateDep) -> InstallRequestPublic:
    return await _decide(request_id, body, actor, session, state, approve=True)


@router.post("/{request_id}/reject", response_model=InstallRequestPublic,
             summary="Reject every order of the request still awaiting approval (note: why)")
async def reject(request_id: IdPath, body: DecisionBody, actor: InstallRequestsDecider,
                 session: SessionDep, state: StateDep) -> InstallRequestPublic:
    return await _decide(request_id, body, actor, session, state, approve=False)
