"""Return visits, the satisfaction report, and major fault reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from fieldservice.models.aftercare import (
    FaultReport,
    FaultReportState,
    ReturnVisit,
    VisitCadence,
    VisitState,
)
from fieldservice.money import MoneyOut
from fieldservice.schemas.common import Body, Id, Name, Public, Text, UpdateBody


class GenerateBody(Body):
    #: generate as if today were this day (default: today, UTC)
    on: date | None = None


class GenerateResult(Public):
    created: int
    visits: list[int]


class VisitRecordBody(Body):
    version: int = Field(ge=1, description="the visit's version as last read")
    feedback: Text
    satisfaction: int = Field(ge=1, le=5, description="1 (very unhappy) to 5 (very happy)")
    #: the technician the feedback is about (default: the customer's latest field work)
    technician_id: Id | None = None


class ReturnVisitPublic(Public):
    id: int
    customer_id: int
    customer_company: str
    due_on: date
    cadence: VisitCadence
    anchor_on: date
    state: VisitState
    done_at: datetime | None
    done_by: str | None
    technician_id: int | None
    feedback: str | None
    satisfaction: int | None
    version: int

    @classmethod
    def of(cls, v: ReturnVisit) -> ReturnVisitPublic:
        return cls(id=v.id, customer_id=v.customer_pk, customer_company=v.customer.company,
                   due_on=v.due_on, cadence=v.cadence, anchor_on=v.anchor_on, state=v.state,
                   done_at=v.done_at, done_by=v.done_by, technician_id=v.technician_pk,
                   feedback=v.feedback, satisfaction=v.satisfaction, version=v.version)


class SatisfactionGroup(Public):
    #: month "2026-03", technician username, or customer company
    key: str
    id: int | None
    visits: int
    #: mean score, two decimals (a decimal string, like amounts)
    average: MoneyOut
    #: visits per score "1".."5"
    scores: dict[str, int]


class SatisfactionReport(Public):
    group_by: str
    period_from: datetime | None
    period_to: datetime | None
    visits: int
    average: MoneyOut | None
    groups: list[SatisfactionGroup]


class FaultReportCreate(Body):
    occurred_at: datetime
    place: Text
    symptom: Text
    handling_plan: Text
    notified_people: list[Name] = Field(min_length=1, max_length=100)
    customer_id: Id | None = None
    work_order_id: Id | None = None


class FaultReportUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {"occurred_at", "place", "symptom", "handling_plan", "notified_people"})

    occurred_at: datetime | None = None
    place: Text | None = None
    symptom: Text | None = None
    handling_plan: Text | None = None
    notified_people: list[Name] | None = Field(default=None, min_length=1, max_length=100)


class ResolveBody(Body):
    version: int = Field(ge=1)
    resolution: Text
    #: when service was restored (default: now)
    resolved_at: datetime | None = None


class AnalysisBody(Body):
    """The analysis sent to the customer; every part may be written in steps (PATCH-like:
    fields left out keep their value)."""

    version: int = Field(ge=1)
    impact: Text | None = None
    handling: Text | None = None
    root_cause: Text | None = None
    corrective_actions: Text | None = None
    preventive_actions: Text | None = None


class SendBody(Body):
    version: int = Field(ge=1)
    #: to whom (name or address) the analysis went
    sent_to: Name


class FaultReportPublic(Public):
    id: int
    number: str
    customer_id: int | None
    work_order_id: int | None
    occurred_at: datetime
    place: str
    symptom: str
    handling_plan: str
    notified_people: list[str]
    reported_by: str
    state: FaultReportState
    resolved_at: datetime | None
    resolution: str | None
    impact: str | None
    handling: str | None
    root_cause: str | None
    corrective_actions: str | None
    preventive_actions: str | None
    analysed_at: datetime | None
    analysed_by: str | None
    sent_at: datetime | None
    sent_by: str | None
    sent_to: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, r: FaultReport) -> FaultReportPublic:
        return cls(
            id=r.id, number=r.number, customer_id=r.customer_pk, work_order_id=r.work_order_pk,
            occurred_at=r.occurred_at, place=r.place, symptom=r.symptom,
            handling_plan=r.handling_plan, notified_people=list(r.notified_people),
            reported_by=r.reported_by, state=r.state, resolved_at=r.resolved_at,
            resolution=r.resolution, impact=r.impact, handling=r.handling,
            root_cause=r.root_cause, corrective_actions=r.corrective_actions,
            preventive_actions=r.preventive_actions, analysed_at=r.analysed_at,
            analysed_by=r.analysed_by, sent_at=r.sent_at, sent_by=r.sent_by, sent_to=r.sent_to,
            created_at=r.created_at, updated_at=r.updated_at, version=r.version,
        )


ANALYSIS_PARTS = ("impact", "handling", "root_cause", "corrective_actions",
                  "preventive_actions")
