"""Publish each operation's admitted roles in the OpenAPI document as ``x-roles``.

The roles are read back from the :class:`~fieldservice.api.deps.RoleGate` dependencies the
routes really use, so the document cannot drift from the enforcement; the authorization test
walks it to prove every protected operation refuses a missing token and a wrong role.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from fieldservice.api.deps import RoleGate


def _gates(dependant: Dependant) -> Iterator[RoleGate]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, RoleGate):
            yield dep.call
        yield from _gates(dep)


def annotate_roles(router: APIRouter) -> None:
    """Set ``x-roles`` on the router's routes (before it is included in the app)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        gates = list(_gates(route.dependant))
        if not gates:
            continue
        roles = frozenset.intersection(*(g.roles for g in gates))
        route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": sorted(roles)}
