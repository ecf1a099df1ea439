"""The default work-order state machine (issue 3)::

    new -> awaiting_approval -> approved -> assigned -> en_route -> on_site -> completed -> closed
               \\-> rejected        (any state before completed) -> cancelled
"""

from __future__ import annotations

from fieldservice.models import WorkOrderState as S
from fieldservice.models import WorkOrderType
from fieldservice.roles import Role
from fieldservice.settings import ServiceSettings
from fieldservice.workflow import guards as g
from fieldservice.workflow.requests import AssignRequest
from fieldservice.workflow.service_rules import with_service_rules
from fieldservice.workflow.transitions import Transition, TransitionTable

FIELD = frozenset({Role.TECHNICIAN, Role.INSTALLER})
OFFICE = frozenset({Role.DISPATCHER, Role.MANAGER})
MANAGER = frozenset({Role.MANAGER})
CANCELLABLE = frozenset({S.NEW, S.AWAITING_APPROVAL, S.APPROVED, S.ASSIGNED, S.EN_ROUTE,
                         S.ON_SITE})


def default_transitions(*, settings: ServiceSettings | None = None) -> TransitionTable:
    """The core table with the billing and escalation rules joined
    (:mod:`fieldservice.workflow.service_rules`); ``settings`` gives the currency of free
    charges (default: from ``FIELDGATE_*``)."""
    settings = settings or ServiceSettings()
    return with_service_rules(core_transitions(), currency=settings.currency)


def core_transitions() -> TransitionTable:
    return TransitionTable([
        Transition(
            action="submit", sources=frozenset({S.NEW}), target=S.AWAITING_APPROVAL,
            roles=frozenset({Role.DISPATCHER, Role.MANAGER, Role.INSTALLER}),
            guards=(g.site_known, g.only_for(WorkOrderType.INSTALL, g.vehicle_known),
                    g.only_for(WorkOrderType.REPAIR, g.symptoms_known)),
            summary="send the order to the manager for approval",
        ),
        Transition(
            action="approve", sources=frozenset({S.AWAITING_APPROVAL}), target=S.APPROVED,
            roles=MANAGER, summary="approve the order",
        ),
        Transition(
            action="reject", sources=frozenset({S.AWAITING_APPROVAL}), target=S.REJECTED,
            roles=MANAGER, guards=(g.note_given,), summary="reject the order (note: why)",
        ),
        Transition(
            action="assign", sources=frozenset({S.APPROVED, S.ASSIGNED}), target=S.ASSIGNED,
            roles=OFFICE, guards=(g.assignee_valid,), effects=(g.set_assignee,),
            request_model=AssignRequest,
            summary="assign (or reassign) a technician",
        ),
        Transition(
            action="depart", sources=frozenset({S.ASSIGNED}), target=S.EN_ROUTE,
            roles=FIELD, assignee_only=True,
            guards=(g.only_for(WorkOrderType.REPAIR, g.checklist_confirmed),),
            summary="leave for the site (repairs: checklist confirmed)",
        ),
        Transition(
            action="arrive", sources=frozenset({S.EN_ROUTE}), target=S.ON_SITE,
            roles=FIELD, assignee_only=True, summary="arrive on site",
        ),
        Transition(
            action="complete", sources=frozenset({S.ON_SITE}), target=S.COMPLETED,
            roles=FIELD, assignee_only=True,
            guards=(g.only_for(WorkOrderType.INSTALL, g.terminal_registered_and_reporting),
                    g.only_for(WorkOrderType.REPAIR, g.report_written)),
            summary="finish the work (install: terminal reporting; repair: report written)",
        ),
        Transition(
            action="close", sources=frozenset({S.COMPLETED}), target=S.CLOSED,
            roles=OFFICE, summary="close the completed order",
        ),
        Transition(
            action="cancel", sources=CANCELLABLE, target=S.CANCELLED,
            roles=OFFICE, guards=(g.note_given,), summary="cancel the order (note: why)",
        ),
    ])
