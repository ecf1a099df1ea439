"""Escalations to the manager, external contractors, staff affiliations; an order's SLA status
and the internal staff free to take it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import (
    IdPath,
    IdQuery,
    OrdersReader,
    PagingDep,
    SessionDep,
    StateDep,
    TechniciansReader,
)
from fieldservice.api.gates import (
    AffiliationsWriter,
    ContractorsReader,
    ContractorsWriter,
    EscalationsDecider,
    EscalationsRaiser,
    EscalationsReader,
)
from fieldservice.models.escalations import (
    Contractor,
    Escalation,
    EscalationDecision,
    EscalationReason,
    EscalationState,
)
from fieldservice.schemas.common import Instant, Page
from fieldservice.schemas.escalations import (
    AffiliationBody,
    AffiliationPublic,
    ContractorCreate,
    ContractorPublic,
    ContractorUpdate,
    DecisionBody,
    EscalationCreate,
    EscalationPublic,
    SlaPublic,
)
from fieldservice.schemas.people import TechnicianPublic, UserPublic
from fieldservice.services import contractors
from fieldservice.services import escalations as service
from fieldservice.services.records import get_or_404
from fieldservice.services.work_orders import get_order
from fieldservice.timestamps import as_utc

router = APIRouter(prefix="/api", tags=["escalations"])


async def _public(session: SessionDep, items: list[Escalation]) -> list[EscalationPublic]:
    orders = await service.orders_by_pk(session, {e.work_order_pk for e in items})
    return [EscalationPublic.of(e, number=orders[e.work_order_pk].number,
                                priority=orders[e.work_order_pk].priority.value,
                                order_state=orders[e.work_order_pk].state.value)
            for e in items]


@router.get("/escalations", response_model=Page[EscalationPublic],
            summary="Escalations, newest first: why, when, by whom, the decision")
async def list_escalations(
    _: EscalationsReader, session: SessionDep, paging: PagingDep,
    state: EscalationState | None = None,
    reason: Annotated[list[EscalationReason] | None, Query(description="repeatable")] = None,
    decision: EscalationDecision | None = None,
    work_order_id: IdQuery = None,
    contractor_id: IdQuery = None,
    raised_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    raised_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> Page[EscalationPublic]:
    filters = service.EscalationFilter(
        states=frozenset({state} if state else ()), reasons=frozenset(reason or ()),
        decision=decision, work_order_pk=work_order_id, contractor_pk=contractor_id,
        raised_from=as_utc(raised_from) if raised_from else None,
        raised_to=as_utc(raised_to) if raised_to else None)
    page = await service.list_escalations(session, filters=filters, limit=paging.limit,
                                          offset=paging.offset)
    return Page(items=await _public(session, list(page.items)), total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("/escalations", response_model=EscalationPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Escalate an order to the manager by hand (reason manual)")
async def escalate(body: EscalationCreate, actor: EscalationsRaiser,
                   session: SessionDep) -> EscalationPublic:
    escalation = await service.escalate_manually(session, actor=actor, data=body)
    await session.commit()
    return (await _public(session, [escalation]))[0]


@router.get("/escalations/{escalation_id}", response_model=EscalationPublic,
            summary="One escalation")
async def get_escalation(escalation_id: IdPath, _: EscalationsReader,
                         session: SessionDep) -> EscalationPublic:
    escalation = await get_or_404(session, Escalation, escalation_id, "escalation")
    return (await _public(session, [escalation]))[0]


@router.post("/escalations/{escalation_id}/decide", response_model=EscalationPublic,
             summary="Decide: assign to a contractor or another department's staff, or keep "
                     "it internal")
async def decide(escalation_id: IdPath, body: DecisionBody, actor: EscalationsDecider,
                 session: SessionDep, state: StateDep) -> EscalationPublic:
    escalation = await service.decide(session, actor=actor, table=state.transitions,
                                      escalation_pk=escalation_id, body=body)
    await session.commit()
    return (await _public(session, [escalation]))[0]


@router.get("/work-orders/{order_id}/sla", response_model=SlaPublic,
            summary="The order's response and resolution deadlines, and whether they were met")
async def sla(order_id: IdPath, actor: OrdersReader, session: SessionDep,
              state: StateDep) -> SlaPublic:
    order = await get_order(session, order_id, actor=actor)
    return await service.sla_status(session, order=order, settings=state.settings)


@router.get("/work-orders/{order_id}/free-staff", response_model=list[TechnicianPublic],
            summary="Internal field staff free to take the order now, least loaded first")
async def free_staff(order_id: IdPath, actor: TechniciansReader, session: SessionDep,
                     state: StateDep,
                     skill: Annotated[str | None, Query(max_length=40)] = None,
                     zone: Annotated[str | None, Query(max_length=200)] = None,
                     ) -> list[TechnicianPublic]:
    order = await get_order(session, order_id, actor=actor)
    loads = await contractors.free_staff(
        session, order=order, free_below=state.settings.free_below_active_orders, zone=zone,
        skill=skill)
    return [TechnicianPublic(**UserPublic.model_validate(t.user).model_dump(),
                             active_orders=t.active_orders, orders_by_state=t.orders_by_state)
            for t in loads]


@router.get("/contractors", response_model=Page[ContractorPublic],
            summary="External contractors")
async def list_contractors(_: ContractorsReader, session: SessionDep, paging: PagingDep,
                           active: bool | None = None,
                           zone: Annotated[str | None, Query(max_length=40)] = None,
                           skill: Annotated[str | None, Query(max_length=40)] = None,
                           ) -> Page[ContractorPublic]:
    page = await contractors.list_contractors(session, active=active, zone=zone, skill=skill,
                                              limit=paging.limit, offset=paging.offset)
    return Page(items=[ContractorPublic.of(c) for c in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("/contractors", response_model=ContractorPublic,
             status_code=status.HTTP_201_CREATED, summary="Register an external contractor")
async def create_contractor(body: ContractorCreate, _: ContractorsWriter,
                            session: SessionDep) -> ContractorPublic:
    contractor = await contractors.create_contractor(session, data=body)
    await session.commit()
    return ContractorPublic.of(contractor)


@router.get("/contractors/{contractor_id}", response_model=ContractorPublic,
            summary="One contractor")
async def get_contractor(contractor_id: IdPath, _: ContractorsReader,
                         session: SessionDep) -> ContractorPublic:
    return ContractorPublic.of(await get_or_404(session, Contractor, contractor_id,
                                                "contractor"))


@router.patch("/contractors/{contractor_id}", response_model=ContractorPublic,
              summary="Change a contractor (active=false retires it)")
async def update_contractor(contractor_id: IdPath, body: ContractorUpdate, _: ContractorsWriter,
                            session: SessionDep) -> ContractorPublic:
    contractor = await contractors.update_contractor(session, contractor_pk=contractor_id,
                                                     data=body)
    await session.commit()
    return ContractorPublic.of(contractor)


@router.get("/staff-affiliations", response_model=Page[AffiliationPublic],
            summary="Users working for a contractor or another department")
async def list_affiliations(_: ContractorsReader, session: SessionDep, paging: PagingDep,
                            contractor_id: IdQuery = None,
                            department: Annotated[str | None, Query(max_length=64)] = None,
                            ) -> Page[AffiliationPublic]:
    page = await contractors.list_affiliations(session, contractor_pk=contractor_id,
                                               department=department, limit=paging.limit,
                                               offset=paging.offset)
    return Page(items=[AffiliationPublic.of(a) for a in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.put("/staff-affiliations/{user_id}", response_model=AffiliationPublic,
            summary="Place a user with a contractor or another department")
async def set_affiliation(user_id: IdPath, body: AffiliationBody, _: AffiliationsWriter,
                          session: SessionDep, state: StateDep) -> AffiliationPublic:
    affiliation = await contractors.set_affiliation(
        session, user_pk=user_id, data=body,
        service_department=state.settings.service_department)
    await session.commit()
    return AffiliationPublic.of(affiliation)
