"""External contractors, staff affiliations, and who is free to take an order now."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.errors import Conflict, InvalidInput
from fieldservice.models import User, WorkOrder, WorkOrderType
from fieldservice.models.escalations import Contractor, StaffAffiliation
from fieldservice.roles import FIELD_ROLES, Role
from fieldservice.schemas.escalations import (
    AffiliationBody,
    ContractorCreate,
    ContractorUpdate,
)
from fieldservice.services.records import Page, apply_changes, check_version, get_or_404, paginate
from fieldservice.services.users import TechnicianLoad, technicians


async def create_contractor(session: AsyncSession, *, data: ContractorCreate) -> Contractor:
    if (await session.execute(sa.select(Contractor.id).where(
            Contractor.name == data.name))).first() is not None:
        raise Conflict(f"contractor {data.name!r} exists already")
    contractor = Contractor(**data.model_dump(), active=True)
    session.add(contractor)
    await session.flush()
    return contractor


async def update_contractor(session: AsyncSession, *, contractor_pk: int,
                            data: ContractorUpdate) -> Contractor:
    contractor = await get_or_404(session, Contractor, contractor_pk, "contractor")
    check_version(contractor, data.version, f"contractor {contractor.name}")
    changes = data.changes()
    if "name" in changes and changes["name"] != contractor.name and (await session.execute(
            sa.select(Contractor.id).where(Contractor.name == changes["name"]))).first():
        raise Conflict(f"contractor {changes['name']!r} exists already")
    apply_changes(contractor, changes)
    await session.flush()
    return contractor


async def list_contractors(session: AsyncSession, *, active: bool | None, zone: str | None,
                           skill: str | None, limit: int, offset: int) -> Page[Contractor]:
    stmt = sa.select(Contractor).order_by(Contractor.name)
    if active is not None:
        stmt = stmt.where(Contractor.active == active)
    if zone is None and skill is None:
        return await paginate(session, stmt, limit=limit, offset=offset)
    # zones and skills are JSON lists: filtered here, the same way on both databases
    matching = [c for c in (await session.execute(stmt)).scalars()
                if (zone is None or zone in c.zones) and (skill is None or skill in c.skills)]
    return Page(items=matching[offset:offset + limit], total=len(matching), limit=limit,
                offset=offset)


async def affiliation_of(session: AsyncSession, user_pk: int) -> StaffAffiliation | None:
    return (await session.execute(
        sa.select(StaffAffiliation).where(StaffAffiliation.user_pk == user_pk)
    )).scalars().first()


async def set_affiliation(session: AsyncSession, *, user_pk: int, data: AffiliationBody,
                          service_department: str) -> StaffAffiliation:
    """Put a user in another department or with a contractor (exactly one). The row is
    updated, never deleted, so the audit log shows each move."""
    user = await get_or_404(session, User, user_pk, "user")
    if data.department is not None and data.department == service_department:
        raise InvalidInput(f"department {service_department!r} is the service department, "
                           "whose staff have no affiliation")
    contractor = None
    if data.contractor_id is not None:
        contractor = await session.get(Contractor, data.contractor_id)
        if contractor is None:
            raise InvalidInput(f"contractor_id {data.contractor_id}: no such contractor")
        if not contractor.active:
            raise Conflict(f"contractor {contractor.name} is deactivated")
    current = await affiliation_of(session, user.id)
    if current is None:
        current = StaffAffiliation(user_pk=user.id)
        current.user = user
        session.add(current)
    elif data.version is None:
        raise InvalidInput(f"{user.username} has an affiliation already: send its version "
                           f"({current.version}) to change it")
    else:
        check_version(current, data.version, f"the affiliation of {user.username}")
    current.department = data.department
    current.contractor_pk = contractor.id if contractor else None
    current.contractor = contractor
    await session.flush()
    return current


async def list_affiliations(session: AsyncSession, *, contractor_pk: int | None,
                            department: str | None, limit: int,
                            offset: int) -> Page[StaffAffiliation]:
    stmt = sa.select(StaffAffiliation).order_by(StaffAffiliation.user_pk)
    if contractor_pk is not None:
        stmt = stmt.where(StaffAffiliation.contractor_pk == contractor_pk)
    if department is not None:
        stmt = stmt.where(StaffAffiliation.department == department)
    return await paginate(session, stmt, limit=limit, offset=offset)


def fit_roles(order: WorkOrder) -> frozenset[Role]:
    """Who may be assigned the order (the core's assign guard): repairs need technicians."""
    return frozenset({Role.TECHNICIAN}) if order.type is WorkOrderType.REPAIR else FIELD_ROLES


async def free_staff(session: AsyncSession, *, order: WorkOrder, free_below: int,
                     zone: str | None = None, skill: str | None = None) -> list[TechnicianLoad]:
    """Internal field staff free to take ``order`` now, least loaded first.

    Free means: active, of a role the order may be assigned to, of the service department (no
    affiliation row), not the order's current assignee, with fewer than ``free_below`` orders
    assigned, en route or on site (the load the dispatcher's technician list shows), and, when
    asked, working in ``zone`` and holding ``skill``.
    """
    loads = await technicians(session, skill=skill, zone=zone)
    external = set((await session.execute(sa.select(StaffAffiliation.user_pk))).scalars())
    roles = fit_roles(order)
    return [t for t in loads
            if t.user.role in roles and t.user.id not in external
            and t.user.id != order.assignee_pk and t.active_orders < free_below]
