"""Return visits (generated callbacks, feedback, satisfaction report) and major fault
reports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import IdPath, IdQuery, PagingDep, SessionDep, StateDep
from fieldservice.api.gates import (
    FaultReportsReader,
    FaultReportsSender,
    FaultReportsWriter,
    ReturnVisitsReader,
    ReturnVisitsWriter,
)
from fieldservice.models.aftercare import FaultReport, FaultReportState, VisitState
from fieldservice.schemas.aftercare import (
    AnalysisBody,
    FaultReportCreate,
    FaultReportPublic,
    FaultReportUpdate,
    GenerateBody,
    GenerateResult,
    ResolveBody,
    ReturnVisitPublic,
    SatisfactionReport,
    SendBody,
    VisitRecordBody,
)
from fieldservice.schemas.common import Day, Instant, Page
from fieldservice.services import fault_reports, return_visits
from fieldservice.services.records import get_or_404
from fieldservice.timestamps import as_utc

router = APIRouter(prefix="/api", tags=["return visits and fault reports"])


@router.get("/return-visits", response_model=Page[ReturnVisitPublic],
            summary="Return visits by due date")
async def list_visits(
    _: ReturnVisitsReader, session: SessionDep, paging: PagingDep,
    state: VisitState | None = None,
    customer_id: IdQuery = None,
    technician_id: IdQuery = None,
    due_from: Annotated[Day | None, Query(description="inclusive")] = None,
    due_to: Annotated[Day | None, Query(description="exclusive")] = None,
) -> Page[ReturnVisitPublic]:
    filters = return_visits.VisitFilter(states=frozenset({state} if state else ()),
                                        customer_pk=customer_id, technician_pk=technician_id,
                                        due_from=due_from, due_to=due_to)
    page = await return_visits.list_visits(session, filters=filters, limit=paging.limit,
                                           offset=paging.offset)
    return Page(items=[ReturnVisitPublic.of(v) for v in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("/return-visits/generate", response_model=GenerateResult,
             summary="Schedule the return visits installed customers are due (idempotent)")
async def generate(body: GenerateBody, _: ReturnVisitsWriter, session: SessionDep,
                   state: StateDep) -> GenerateResult:
    created = await return_visits.generate(session, settings=state.settings, today=body.on)
    await session.commit()
    return GenerateResult(created=len(created), visits=[v.id for v in created])


@router.get("/return-visits/report", response_model=SatisfactionReport,
            summary="Satisfaction of recorded visits per month, technician or customer")
async def satisfaction(
    _: ReturnVisitsReader, session: SessionDep,
    group_by: Literal["month", "technician", "customer"] = "month",
    done_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    done_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> SatisfactionReport:
    return await return_visits.satisfaction_report(
        session, group_by=group_by, done_from=as_utc(done_from) if done_from else None,
        done_to=as_utc(done_to) if done_to else None)


# ":int": the literal paths beside it (report, generate, me) are never read as an id, so
# another method on them is a 405, not a 422 about the id
@router.get("/return-visits/{visit_id:int}", response_model=ReturnVisitPublic,
            summary="One return visit")
async def get_visit(visit_id: IdPath, _: ReturnVisitsReader,
                    session: SessionDep) -> ReturnVisitPublic:
    return ReturnVisitPublic.of(await return_visits.get_visit(session, visit_id))


@router.post("/return-visits/{visit_id}/record", response_model=ReturnVisitPublic,
             summary="Record the customer's feedback and satisfaction (1-5)")
async def record_visit(visit_id: IdPath, body: VisitRecordBody, actor: ReturnVisitsWriter,
                       session: SessionDep) -> ReturnVisitPublic:
    visit = await return_visits.record(session, actor=actor, visit_pk=visit_id, body=body)
    await session.commit()
    return ReturnVisitPublic.of(visit)


@router.get("/fault-reports", response_model=Page[FaultReportPublic],
            summary="Major fault reports, latest fault first")
async def list_fault_reports(
    _: FaultReportsReader, session: SessionDep, paging: PagingDep,
    state: Annotated[list[FaultReportState] | None, Query(description="repeatable")] = None,
    customer_id: IdQuery = None,
    work_order_id: IdQuery = None,
    occurred_from: Annotated[Instant | None, Query(description="inclusive; naive = UTC")] = None,
    occurred_to: Annotated[Instant | None, Query(description="exclusive; naive = UTC")] = None,
) -> Page[FaultReportPublic]:
    filters = fault_reports.FaultReportFilter(
        states=frozenset(state or ()), customer_pk=customer_id, work_order_pk=work_order_id,
        occurred_from=as_utc(occurred_from) if occurred_from else None,
        occurred_to=as_utc(occurred_to) if occurred_to else None)
    page = await fault_reports.list_reports(session, filters=filters, limit=paging.limit,
                                            offset=paging.offset)
    return Page(items=[FaultReportPublic.of(r) for r in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("/fault-reports", response_model=FaultReportPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Report a major fault: time, place, symptom, handling plan, who was told")
async def create_fault_report(body: FaultReportCreate, actor: FaultReportsWriter,
                              session: SessionDep) -> FaultReportPublic:
    report = await fault_reports.create_report(session, actor=actor, data=body)
    await session.commit()
    return FaultReportPublic.of(report)


@router.get("/fault-reports/{report_id}", response_model=FaultReportPublic,
            summary="One fault report")
async def get_fault_report(report_id: IdPath, _: FaultReportsReader,
                           session: SessionDep) -> FaultReportPublic:
    return FaultReportPublic.of(await get_or_404(session, FaultReport, report_id,
                                                 "fault report"))


@router.patch("/fault-reports/{report_id}", response_model=FaultReportPublic,
              summary="Correct the report (until it is sent)")
async def update_fault_report(report_id: IdPath, body: FaultReportUpdate,
                              _: FaultReportsWriter, session: SessionDep) -> FaultReportPublic:
    report = await fault_reports.update_report(session, report_pk=report_id, data=body)
    await session.commit()
    return FaultReportPublic.of(report)


@router.post("/fault-reports/{report_id}/resolve", response_model=FaultReportPublic,
             summary="Record that the fault is resolved")
async def resolve(report_id: IdPath, body: ResolveBody, actor: FaultReportsWriter,
                  session: SessionDep) -> FaultReportPublic:
    report = await fault_reports.resolve(session, actor=actor, report_pk=report_id, body=body)
    await session.commit()
    return FaultReportPublic.of(report)


@router.post("/fault-reports/{report_id}/analysis", response_model=FaultReportPublic,
             summary="Write the analysis: impact, handling, root cause, corrective and "
                     "preventive actions")
async def analysis(report_id: IdPath, body: AnalysisBody, actor: FaultReportsWriter,
                   session: SessionDep) -> FaultReportPublic:
    report = await fault_reports.analyse(session, actor=actor, report_pk=report_id, body=body)
    await session.commit()
    return FaultReportPublic.of(report)


@router.post("/fault-reports/{report_id}/send", response_model=FaultReportPublic,
             summary="Mark the analysis sent to the customer (refused until it is complete)")
async def send(report_id: IdPath, body: SendBody, actor: FaultReportsSender,
               session: SessionDep) -> FaultReportPublic:
    report = await fault_reports.mark_sent(session, actor=actor, report_pk=report_id, body=body)
    await session.commit()
    return FaultReportPublic.of(report)
