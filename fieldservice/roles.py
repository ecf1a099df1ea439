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
}


def allowed(permission: Permission, role: Role) -> bool:
    return role in PERMISSIONS[permission]
