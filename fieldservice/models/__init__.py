"""The service layer's records (SQLAlchemy 2 declarative models)."""

# the rest of issue 3 (billing, escalation, complaints, return visits, fault reports): imported
# here so that their tables are part of Base.metadata
from fieldservice.models import (  # noqa: F401 - importing them registers their mappers
    aftercare,
    attachments,
    billing,
    complaints,
    escalations,
)
from fieldservice.models.audit import AuditEntry
from fieldservice.models.base import Audited, Base
from fieldservice.models.enums import (
    ACTIVE_STATES,
    FINAL_STATES,
    OPEN_STATES,
    Priority,
    SimState,
    Source,
    SwapKind,
    TerminalState,
    WorkOrderState,
    WorkOrderType,
)
from fieldservice.models.fleet import (
    HardwareSwap,
    Sim,
    Terminal,
    TerminalSim,
    TerminalVehicle,
    Vehicle,
)
from fieldservice.models.people import Customer, User
from fieldservice.models.tables import app_secrets, counters, positions
from fieldservice.models.work_orders import InstallRequest, WorkOrder, WorkOrderTransition

__all__ = [
    "ACTIVE_STATES", "FINAL_STATES", "OPEN_STATES",
    "AuditEntry", "Audited", "Base", "Customer", "HardwareSwap", "InstallRequest", "Priority",
    "Sim", "SimState", "Source", "SwapKind", "Terminal", "TerminalSim", "TerminalState",
    "TerminalVehicle", "User", "Vehicle", "WorkOrder", "WorkOrderState", "WorkOrderTransition",
    "WorkOrderType", "app_secrets", "counters", "positions",
]
