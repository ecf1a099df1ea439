"""Rules of billing and escalation that join the default state machine.

- ``complete`` (repairs) fixes the repair's charge (:mod:`fieldservice.services.billing`).
- ``close`` (repairs) waits until a charge that is due has been collected on site.
- ``assign`` to a contractor's technician or to another department's staff needs an
  escalation of the order that the manager decided that way.
"""

from __future__ import annotations

import sqlalchemy as sa

from fieldservice.errors import Reason
from fieldservice.models import WorkOrderType
from fieldservice.models.billing import ChargeState
from fieldservice.models.escalations import (
    Escalation,
    EscalationDecision,
    EscalationState,
    StaffAffiliation,
)
from fieldservice.workflow.guards import only_for
from fieldservice.workflow.transitions import Effect, TransitionContext, TransitionTable


def charge_on_complete(currency: str) -> Effect:
    async def make_repair_charge(ctx: TransitionContext) -> None:
        """Fix what the repair costs: free in warranty, else the parts used."""
        from fieldservice.services.billing import make_charge

        if ctx.order.type is WorkOrderType.REPAIR:
            await make_charge(ctx.session, order=ctx.order, at=ctx.now, currency=currency)

    return make_repair_charge


async def payment_collected(ctx: TransitionContext) -> str | None:
    """An out-of-warranty repair closes once its payment was recorded on site."""
    from fieldservice.services.billing import charge_of

    charge = await charge_of(ctx.session, ctx.order.id)
    if charge is None:
        return Reason("no_charge",
                      "the repair has no charge (it is made when the repair completes)")
    if charge.state is ChargeState.DUE:
        return Reason("payment_due", f"the customer owes {charge.total} {charge.currency} (out "
                      "of warranty): the technician records the payment (amount, method, "
                      "invoice number) first", amount=str(charge.total),
                      currency=charge.currency)
    return None


async def external_assignment_approved(ctx: TransitionContext) -> str | None:
    """Contractors' technicians and other departments' staff work on an order only when the
    manager decided so on one of its escalations."""
    assignee_id = getattr(ctx.request, "assignee_id", None)
    if assignee_id is None:
        return None
    affiliation = (await ctx.session.execute(
        sa.select(StaffAffiliation).where(StaffAffiliation.user_pk == assignee_id)
    )).scalars().first()
    if affiliation is None:
        return None
    approved = (await ctx.session.execute(
        sa.select(Escalation.id).where(
            Escalation.work_order_pk == ctx.order.id,
            Escalation.state == EscalationState.DECIDED,
            Escalation.decision.in_([EscalationDecision.CONTRACTOR,
                                     EscalationDecision.OTHER_DEPARTMENT]),
            Escalation.assignee_pk == assignee_id,
        )
    )).first()
    if approved is not None:
        return None
    user = affiliation.user.username
    if affiliation.contractor:
        return Reason("external_contractor", f"{user} works for contractor "
                      f"{affiliation.contractor.name}: assigning external staff needs an "
                      "escalation of this order that the manager decided that way",
                      user=user, contractor=affiliation.contractor.name)
    return Reason("external_department", f"{user} works for the {affiliation.department} "
                  "department: assigning external staff needs an escalation of this order that "
                  "the manager decided that way", user=user,
                  department=str(affiliation.department))


def with_service_rules(table: TransitionTable, *, currency: str) -> TransitionTable:
    return (table
            .with_effects("complete", charge_on_complete(currency))
            .with_guards("close", only_for(WorkOrderType.REPAIR, payment_collected))
            .with_guards("assign", external_assignment_approved))
