"""Reading one work order as an actor may see it. Below the workflow (it imports no state
machine), so that the services the workflow's effects call (billing) can use it too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import NotFound, PermissionDenied
from fieldservice.models import WorkOrder
from fieldservice.roles import Role


def ensure_visible(order: WorkOrder, actor: Actor) -> None:
    """A technician sees only the orders assigned to him."""
    if actor.role is Role.TECHNICIAN and order.assignee_pk != actor.user_pk:
        raise PermissionDenied(f"work order {order.number} is not assigned to you")


async def get_order(session: AsyncSession, order_pk: int, *, actor: Actor,
                    reload: bool = False) -> WorkOrder:
    order = await session.get(WorkOrder, order_pk, populate_existing=reload)
    if order is None:
        raise NotFound(f"no work order with id {order_pk}")
    ensure_visible(order, actor)
    return order
