"""Customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import (
    CustomersReader,
    CustomersWriter,
    IdPath,
    PagingDep,
    SessionDep,
)
from fieldservice.models import Customer
from fieldservice.schemas.common import Page
from fieldservice.schemas.people import CustomerCreate, CustomerPublic, CustomerUpdate
from fieldservice.services import customers as service
from fieldservice.services.records import get_or_404

router = APIRouter(prefix="/api/customers", tags=["customers"])


@router.get("", response_model=Page[CustomerPublic], summary="List customers")
async def list_customers(_: CustomersReader, session: SessionDep, paging: PagingDep,
                         q: Annotated[str | None, Query(max_length=200,
                                                        description="company or contact")] = None,
                         active: bool | None = None) -> Page[CustomerPublic]:
    page = await service.list_customers(session, q=q, active=active, limit=paging.limit,
                                        offset=paging.offset)
    return Page(items=[CustomerPublic.model_validate(c) for c in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED,
             summary="Create a customer")
async def create_customer(body: CustomerCreate, _: CustomersWriter,
                          session: SessionDep) -> Customer:
    customer = await service.create_customer(session, data=body)
    await session.commit()
    return customer


@router.get("/{customer_id}", response_model=CustomerPublic, summary="One customer")
async def get_customer(customer_id: IdPath, _: CustomersReader, session: SessionDep) -> Customer:
    return await get_or_404(session, Customer, customer_id, "customer")


@router.patch("/{customer_id}", response_model=CustomerPublic,
              summary="Change a customer (active=false retires it)")
async def update_customer(customer_id: IdPath, body: CustomerUpdate, _: CustomersWriter,
                          session: SessionDep) -> Customer:
    customer = await service.update_customer(session, customer_pk=customer_id, data=body)
    await session.commit()
    return customer
