"""Roles and what each may do: one table, read by the API's role gates and by docs/api.md.

Row-level rules live with the records they guard: a technician reads and updates only the work
orders assigned to him (see :mod:`fieldservice.services.work_orders`); field actions on an order
are open to its assignee only.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    TECHNICIAN = "technician"  #: field staff: his own orders only
    INSTALLER = "installer"  #: registers terminals/SIMs, install requests; field staff for installs
    DISPATCHER = "dispatcher"  #: takes calls, assigns, watches
    MANAGER = "manager"  #: approves, rejects, escalations
    FINANCE = "finance"  #: payments and billing (read access here)
    TESTER = "tester"  #: read-only access to everything, for acceptance testing
    ADMIN = "admin"  #: user administration, audit; reads everything


#: roles that work orders can be assigned to (they do the work on site)
FIELD_ROLES = frozenset({Role.TECHNICIAN, Role.INSTALLER})

ALL_ROLES = frozenset(Role)
#: office roles that read the whole registry (technicians see what their orders show)
OFFICE_READERS = frozenset(
    {Role.INSTALLER, Role.DISPATCHER, Role.MANAGER, Role.FINANCE, Role.TESTER, Role.ADMIN}
)


class Permission(enum.StrEnum):
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_WRITE = "customers.write"
    VEHICLES_READ = "vehicles.read"
    VEHICLES_WRITE = "vehicles.write"
    REGISTRY_READ = "registry.read"  #: terminals and SIMs
    REGISTRY_WRITE = "registry.write"
    WORK_ORDERS_READ = "work_orders.read"
    WORK_ORDERS_CREATE = "work_orders.create"
    WORK_ORDERS_UPDATE = "work_orders.update"
    FIELD_WORK = "work_orders.field_work"  #: checklist, report, registration, swaps (assignee)
    INSTALL_REQUESTS_READ = "install_requests.read"
    INSTALL_REQUESTS_CREATE = "install_requests.create"
    INSTALL_REQUESTS_DECIDE = "install_requests.decide"
    TECHNICIANS_READ = "technicians.read"
    AUDIT_READ = "audit.read"
    USERS_ADMIN = "users.admin"
    FLEET_READ = "fleet.read"  #: live telemetry: latest state, tracks, unknown terminals
    # the rest of issue 3
    PARTS_READ = "parts.read"
    PARTS_WRITE = "parts.write"  #: parts and their prices (the price list)
    PARTS_USE = "parts.use"  #: record parts used on site (assignee)
    PAYMENTS_COLLECT = "payments.collect"  #: record an on-site payment (assignee)
    PAYMENTS_READ = "payments.read"
    PAYMENTS_CONFIRM = "payments.confirm"
    BILLING_REPORT = "billing.report"
    ESCALATIONS_READ = "escalations.read"
    ESCALATIONS_RAISE = "escalations.raise"
    ESCALATIONS_DECIDE = "escalations.decide"
    CONTRACTORS_READ = "contractors.read"
    CONTRACTORS_WRITE = "contractors.write"
    AFFILIATIONS_WRITE = "affiliations.write"
    COMPLAINTS_READ = "complaints.read"
    COMPLAINTS_RECEIVE = "complaints.receive"  #: whoever receives one owns it
    COMPLAINTS_REPORT = "complaints.report"
    RETURN_VISITS_READ = "return_visits.read"
    RETURN_VISITS_WRITE = "return_visits.write"
    FAULT_REPORTS_READ = "fault_reports.read"
    FAULT_REPORTS_WRITE = "fault_reports.write"
    FAULT_REPORTS_SEND = "fault_reports.send"
    # issue 8: downlink commands to JT/T 808 and GT06 terminals
    TERMINAL_COMMANDS_READ = "terminal_commands.read"
    TERMINAL_COMMANDS_SEND = "terminal_commands.send"


PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.CUSTOMERS_READ: OFFICE_READERS,
    Permission.CUSTOMERS_WRITE: frozenset({Role.DISPATCHER, Role.MANAGER}),
    Permission.VEHICLES_READ: OFFICE_READERS,
    Permission.VEHICLES_WRITE: frozenset({Role.DISPATCHER, Role.MANAGER, Role.INSTALLER}),
    Permission.REGISTRY_READ: ALL_ROLES,
    Permission.REGISTRY_WRITE: frozenset({Role.INSTALLER, Role.MANAGER}),
    Permission.WORK_ORDERS_READ: ALL_ROLES,
    Permission.WORK_ORDERS_CREATE: frozenset({Role.DISPATCHER, Role.MANAGER}),
    Permission.WORK_ORDERS_UPDATE: frozenset({Role.DISPATCHER, Role.MANAGER}),
    Permission.FIELD_WORK: FIELD_ROLES,
    Permission.INSTALL_REQUESTS_READ: OFFICE_READERS,
    Permission.INSTALL_REQUESTS_CREATE: frozenset({Role.DISPATCHER, Role.MANAGER, Role.INSTALLER}),
    Permission.INSTALL_REQUESTS_DECIDE: frozenset({Role.MANAGER}),
    Permission.TECHNICIANS_READ: frozenset(
        {Role.DISPATCHER, Role.MANAGER, Role.INSTALLER, Role.TESTER, Role.ADMIN}
    ),
    Permission.AUDIT_READ: frozenset({Role.MANAGER, Role.TESTER, Role.ADMIN}),
    Permission.USERS_ADMIN: frozenset({Role.ADMIN}),
    Permission.FLEET_READ: OFFICE_READERS,
    Permission.PARTS_READ: ALL_ROLES,
    Permission.PARTS_WRITE: frozenset({Role.MANAGER, Role.FINANCE}),
    Permission.PARTS_USE: frozenset({Role.TECHNICIAN}),
    Permission.PAYMENTS_COLLECT: frozenset({Role.TECHNICIAN}),
    Permission.PAYMENTS_READ: frozenset(
        {Role.FINANCE, Role.MANAGER, Role.DISPATCHER, Role.TESTER, Role.ADMIN}
    ),
    Permission.PAYMENTS_CONFIRM: frozenset({Role.FINANCE}),
    Permission.BILLING_REPORT: frozenset({Role.FINANCE, Role.MANAGER, Role.TESTER, Role.ADMIN}),
    Permission.ESCALATIONS_READ: frozenset(
        {Role.DISPATCHER, Role.MANAGER, Role.TESTER, Role.ADMIN}
    ),
    Permission.ESCALATIONS_RAISE: frozenset({Role.DISPATCHER, Role.MANAGER}),
    Permission.ESCALATIONS_DECIDE: frozenset({Role.MANAGER}),
    Permission.CONTRACTORS_READ: frozenset(
        {Role.DISPATCHER, Role.MANAGER, Role.FINANCE, Role.TESTER, Role.ADMIN}
    ),
    Permission.CONTRACTORS_WRITE: frozenset({Role.MANAGER}),
    Permission.AFFILIATIONS_WRITE: frozenset({Role.MANAGER, Role.ADMIN}),
    Permission.COMPLAINTS_READ: ALL_ROLES,
    Permission.COMPLAINTS_RECEIVE: frozenset(
        {Role.TECHNICIAN, Role.INSTALLER, Role.DISPATCHER, Role.MANAGER, Role.FINANCE}
    ),
    Permission.COMPLAINTS_REPORT: frozenset({Role.MANAGER, Role.TESTER, Role.ADMIN}),
    Permission.RETURN_VISITS_READ: OFFICE_READERS,
    Permission.RETURN_VISITS_WRITE: frozenset({Role.DISPATCHER, Role.MANAGER}),
    Permission.FAULT_REPORTS_READ: OFFICE_READERS,
    Permission.FAULT_REPORTS_WRITE: frozenset({Role.DISPATCHER, Role.MANAGER}),
    Permission.FAULT_REPORTS_SEND: frozenset({Role.MANAGER}),
    Permission.TERMINAL_COMMANDS_READ: frozenset(
        {Role.DISPATCHER, Role.MANAGER, Role.TESTER, Role.ADMIN}
    ),
    Permission.TERMINAL_COMMANDS_SEND: frozenset({Role.DISPATCHER, Role.MANAGER}),
}


def allowed(permission: Permission, role: Role) -> bool:
    return role in PERMISSIONS[permission]
