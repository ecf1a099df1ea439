"""Customers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.models import Customer
from fieldservice.schemas.people import CustomerCreate, CustomerUpdate
from fieldservice.services.records import Page, apply_changes, check_version, get_or_404, paginate


async def create_customer(session: AsyncSession, *, data: CustomerCreate) -> Customer:
    customer = Customer(**data.model_dump(), active=True)
    session.add(customer)
    await session.flush()
    return customer


async def update_customer(session: AsyncSession, *, customer_pk: int,
                          data: CustomerUpdate) -> Customer:
    customer = await get_or_404(session, Customer, customer_pk, "customer")
    check_version(customer, data.version, f"customer {customer.id}")
    apply_changes(customer, data.changes())
    await session.flush()
    return customer


async def list_customers(session: AsyncSession, *, q: str | None, active: bool | None,
                         limit: int, offset: int) -> Page[Customer]:
    stmt = sa.select(Customer).order_by(Customer.company, Customer.id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(Customer.company).like(pattern),
                                 sa.func.lower(Customer.contact_name).like(pattern)))
    if active is not None:
        stmt = stmt.where(Customer.active == active)
    return await paginate(session, stmt, limit=limit, offset=offset)
