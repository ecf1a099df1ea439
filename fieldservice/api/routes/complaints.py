"""Complaints: recorded by whoever receives them (the owner until closed), handed over,
replied to, closed; the quarterly report by cause."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.actors import Actor
from fieldservice.api.deps import IdPath, IdQuery, PagingDep, SessionDep
from fieldservice.api.gates import ComplaintsReader, ComplaintsReceiver, ComplaintsReporter
from fieldservice.models.complaints import (
    Complaint,
    ComplaintCause,
    ComplaintChannel,
    ComplaintState,
)
from fieldservice.schemas.common import Instant, Page
from fieldservice.schemas.complaints import (
    CloseBody,
    ComplaintCreate,
    ComplaintPublic,
    ComplaintReport,
    ComplaintUpdate,
    HandOverBody,
    LinkBody,
    ReplyBody,
)
from fieldservice.services import complaints as service
from fieldservice.timestamps import as_utc

router = APIRouter(prefix="/api/complaints", tags=["complaints"])


async def _public(session: SessionDep, complaint: Complaint) -> ComplaintPublic:
    return ComplaintPublic.of(complaint, await service.linked_orders(session, complaint.id))


async def _reloaded(session: SessionDep, complaint_id: int, actor: Actor) -> ComplaintPublic:
    return await _public(session, await service.get_complaint(session, complaint_id,
                                                              actor=actor))


@router.get("", response_model=Page[ComplaintPublic],
            summary="Complaints, newest first (technicians: those they own)")
async def list_complaints(
    actor: ComplaintsReader, session: SessionDep, paging: PagingDep,
    state: Annotated[list[ComplaintState] | None, Query(description="repeatable")] = None,
    customer_id: IdQuery = None,
    owner_id: IdQuery = None,
    channel: ComplaintChannel | None = None,
    cause: ComplaintCause | None = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    received_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    received_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> Page[ComplaintPublic]:
    filters = service.ComplaintFilter(
        states=frozenset(state or ()), customer_pk=customer_id, owner_pk=owner_id,
        channel=channel, cause=cause, department=department,
        received_from=as_utc(received_from) if received_from else None,
        received_to=as_utc(received_to) if received_to else None)
    page = await service.list_complaints(session, actor=actor, filters=filters,
                                         limit=paging.limit, offset=paging.offset)
    return Page(items=[await _public(session, c) for c in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("", response_model=ComplaintPublic, status_code=status.HTTP_201_CREATED,
             summary="Record a complaint received: the caller owns it until it is closed")
async def create_complaint(body: ComplaintCreate, actor: ComplaintsReceiver,
                           session: SessionDep) -> ComplaintPublic:
    complaint = await service.create_complaint(session, actor=actor, data=body)
    await session.commit()
    return await _public(session, complaint)


@router.get("/report", response_model=ComplaintReport,
            summary="Quarterly report: complaints by cause, with corrective actions")
async def report(_: ComplaintsReporter, session: SessionDep,
                 year: Annotated[int, Query(ge=2000, le=2999)],
                 quarter: Annotated[int, Query(ge=1, le=4)]) -> ComplaintReport:
    return await service.quarterly_report(session, year=year, quarter=quarter)


# ":int": the literal paths beside it (report, generate, me) are never read as an id, so
# another method on them is a 405, not a 422 about the id
@router.get("/{complaint_id:int}", response_model=ComplaintPublic, summary="One complaint")
async def get_complaint(complaint_id: IdPath, actor: ComplaintsReader,
                        session: SessionDep) -> ComplaintPublic:
    return await _reloaded(session, complaint_id, actor)


@router.patch("/{complaint_id:int}", response_model=ComplaintPublic,
              summary="Edit subject, description, cause, corrective action (owner, manager)")
async def update_complaint(complaint_id: IdPath, body: ComplaintUpdate,
                           actor: ComplaintsReceiver, session: SessionDep) -> ComplaintPublic:
    complaint = await service.update_complaint(session, actor=actor, complaint_pk=complaint_id,
                                               data=body)
    await session.commit()
    return await _public(session, complaint)


@router.post("/{complaint_id}/hand-over", response_model=ComplaintPublic,
             summary="Hand to the responsible department; the owner stays (owner, manager)")
async def hand_over(complaint_id: IdPath, body: HandOverBody, actor: ComplaintsReceiver,
                    session: SessionDep) -> ComplaintPublic:
    complaint = await service.hand_over(session, actor=actor, complaint_pk=complaint_id,
                                        body=body)
    await session.commit()
    return await _public(session, complaint)


@router.post("/{complaint_id}/reply", response_model=ComplaintPublic,
             summary="Record the reply given to the customer (owner, manager)")
async def reply(complaint_id: IdPath, body: ReplyBody, actor: ComplaintsReceiver,
                session: SessionDep) -> ComplaintPublic:
    complaint = await service.reply(session, actor=actor, complaint_pk=complaint_id, body=body)
    await session.commit()
    return await _public(session, complaint)


@router.post("/{complaint_id}/close", response_model=ComplaintPublic,
             summary="Close once replied to and classified (owner, manager)")
async def close(complaint_id: IdPath, body: CloseBody, actor: ComplaintsReceiver,
                session: SessionDep) -> ComplaintPublic:
    complaint = await service.close(session, actor=actor, complaint_pk=complaint_id, body=body)
    await session.commit()
    return await _public(session, complaint)


@router.post("/{complaint_id}/work-orders", response_model=ComplaintPublic,
             summary="Link a work order to the complaint (owner, manager)")
async def link(complaint_id: IdPath, body: LinkBody, actor: ComplaintsReceiver,
               session: SessionDep) -> ComplaintPublic:
    complaint = await service.link_order(session, actor=actor, complaint_pk=complaint_id,
                                         body=body)
    await session.commit()
    return await _public(session, complaint)
