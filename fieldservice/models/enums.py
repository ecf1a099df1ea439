"""Enumerations of the domain, stored as their string values."""

from __future__ import annotations

import enum

import sqlalchemy as sa


class WorkOrderType(enum.StrEnum):
    INSTALL = "install"
    REPAIR = "repair"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Source(enum.StrEnum):
    CUSTOMER_CALL = "customer_call"
    COMPLAINT = "complaint"
    AUTO_DETECTED = "auto_detected"
    INSPECTION = "inspection"


class WorkOrderState(enum.StrEnum):
    NEW = "new"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    CLOSED = "closed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


#: states in which an order is finished with: no further action applies
FINAL_STATES = frozenset({WorkOrderState.CLOSED, WorkOrderState.REJECTED,
                          WorkOrderState.CANCELLED})
#: states that count toward a technician's load
ACTIVE_STATES = frozenset({WorkOrderState.ASSIGNED, WorkOrderState.EN_ROUTE,
                           WorkOrderState.ON_SITE})
#: states of an order nobody has finished yet (issue 4: one open ticket per terminal)
OPEN_STATES = frozenset(WorkOrderState) - FINAL_STATES - {WorkOrderState.COMPLETED}


class TerminalState(enum.StrEnum):
    IN_STOCK = "in_stock"
    INSTALLED = "installed"
    FAULTY = "faulty"
    RETURNED = "returned"
    SCRAPPED = "scrapped"


class SimState(enum.StrEnum):
    IN_STOCK = "in_stock"
    ACTIVE = "active"
    FAULTY = "faulty"
    DEACTIVATED = "deactivated"


class SwapKind(enum.StrEnum):
    TERMINAL = "terminal"
    SIM = "sim"


def enum_column(enum_cls: type[enum.StrEnum], length: int) -> sa.Enum:
    """A VARCHAR holding the enum's values (not its names), no CHECK constraint: new members
    are added in code without a migration."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
