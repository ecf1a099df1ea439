"""Role gates of the billing, escalation, complaint, return-visit and fault-report routes
(the permissions are in :data:`fieldservice.roles.PERMISSIONS`, like the core's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from fieldservice.actors import Actor
from fieldservice.api.deps import gate
from fieldservice.roles import Permission

PartsReader = Annotated[Actor, Depends(gate(Permission.PARTS_READ))]
PartsWriter = Annotated[Actor, Depends(gate(Permission.PARTS_WRITE))]
PartsUser = Annotated[Actor, Depends(gate(Permission.PARTS_USE))]
PaymentsCollector = Annotated[Actor, Depends(gate(Permission.PAYMENTS_COLLECT))]
PaymentsReader = Annotated[Actor, Depends(gate(Permission.PAYMENTS_READ))]
PaymentsConfirmer = Annotated[Actor, Depends(gate(Permission.PAYMENTS_CONFIRM))]
BillingReporter = Annotated[Actor, Depends(gate(Permission.BILLING_REPORT))]
EscalationsReader = Annotated[Actor, Depends(gate(Permission.ESCALATIONS_READ))]
EscalationsRaiser = Annotated[Actor, Depends(gate(Permission.ESCALATIONS_RAISE))]
EscalationsDecider = Annotated[Actor, Depends(gate(Permission.ESCALATIONS_DECIDE))]
ContractorsReader = Annotated[Actor, Depends(gate(Permission.CONTRACTORS_READ))]
ContractorsWriter = Annotated[Actor, Depends(gate(Permission.CONTRACTORS_WRITE))]
AffiliationsWriter = Annotated[Actor, Depends(gate(Permission.AFFILIATIONS_WRITE))]
ComplaintsReader = Annotated[Actor, Depends(gate(Permission.COMPLAINTS_READ))]
ComplaintsReceiver = Annotated[Actor, Depends(gate(Permission.COMPLAINTS_RECEIVE))]
ComplaintsReporter = Annotated[Actor, Depends(gate(Permission.COMPLAINTS_REPORT))]
ReturnVisitsReader = Annotated[Actor, Depends(gate(Permission.RETURN_VISITS_READ))]
ReturnVisitsWriter = Annotated[Actor, Depends(gate(Permission.RETURN_VISITS_WRITE))]
FaultReportsReader = Annotated[Actor, Depends(gate(Permission.FAULT_REPORTS_READ))]
FaultReportsWriter = Annotated[Actor, Depends(gate(Permission.FAULT_REPORTS_WRITE))]
FaultReportsSender = Annotated[Actor, Depends(gate(Permission.FAULT_REPORTS_SEND))]
