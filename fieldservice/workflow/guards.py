"""Guards of the default transitions: each returns ``None`` or the reason it refuses.

Guards read, never write. A guard that applies to one order type only is wrapped with
:func:`only_for`, so the table stays one row per action.
"""

from __future__ import annotations

from fieldservice.errors import Reason
from fieldservice.models import User, WorkOrderType
from fieldservice.roles import FIELD_ROLES, Role
from fieldservice.services.bindings import open_sim_binding, open_vehicle_binding
from fieldservice.services.fixes import fix_received_since
from fieldservice.workflow.transitions import Guard, TransitionContext

#: what a technician confirms before leaving for a repair
CHECKLIST_ITEMS = ("tools", "spare_terminals", "sims", "documents")


def only_for(kind: WorkOrderType, guard: Guard) -> Guard:
    async def typed(ctx: TransitionContext) -> str | None:
        return await guard(ctx) if ctx.order.type is kind else None

    typed.__name__ = f"{guard.__name__}_for_{kind.value}"
    typed.__doc__ = guard.__doc__
    return typed


async def note_given(ctx: TransitionContext) -> str | None:
    """A reason must be written down."""
    if not (ctx.request.note or "").strip():
        return Reason("note_required", "a note giving the reason is required")
    return None


async def site_known(ctx: TransitionContext) -> str | None:
    """The technician needs to know where to go and whom to call."""
    missing = [name for name, value in (("address", ctx.order.address),
                                        ("contact_phone", ctx.order.contact_phone))
               if not (value or "").strip()]
    if missing:
        return Reason("fields_missing", f"fill in {' and '.join(missing)} first", fields=missing)
    return None


async def vehicle_known(ctx: TransitionContext) -> str | None:
    """An install order equips one vehicle."""
    if ctx.order.vehicle_pk is None:
        return Reason("vehicle_missing", "an install order needs its vehicle")
    return None


async def symptoms_known(ctx: TransitionContext) -> str | None:
    """A repair order says what is wrong."""
    if not (ctx.order.symptoms or "").strip():
        return Reason("symptoms_missing", "describe the symptoms first")
    return None


async def assignee_valid(ctx: TransitionContext) -> str | None:
    """Assign needs an assignee who is active field staff fit for the order."""
    assignee_id = getattr(ctx.request, "assignee_id", None)
    if assignee_id is None:
        return Reason("assignee_missing", "assign needs an assignee (assignee_id)")
    user = await ctx.session.get(User, assignee_id)
    if user is None:
        return Reason("assignee_unknown", f"there is no user with id {assignee_id}",
                      id=str(assignee_id))
    if not user.active:
        return Reason("assignee_inactive", f"user {user.username} is deactivated",
                      user=user.username)
    if user.role not in FIELD_ROLES:
        return Reason("assignee_not_field", f"user {user.username} is a {user.role}, not field "
                      "staff (technician, installer)", user=user.username, role=str(user.role))
    if ctx.order.type is WorkOrderType.REPAIR and user.role is not Role.TECHNICIAN:
        return Reason("repair_needs_technician",
                      f"repairs go to technicians; {user.username} is an {user.role}",
                      user=user.username, role=str(user.role))
    if user.id == ctx.order.assignee_pk:
        return Reason("already_assigned",
                      f"{ctx.order.number} is already assigned to {user.username}",
                      number=ctx.order.number, user=user.username)
    ctx.resolved["assignee"] = user
    return None


async def checklist_confirmed(ctx: TransitionContext) -> str | None:
    """Before leaving for a repair: tools, spare terminals, SIMs and documents checked."""
    checklist = ctx.order.checklist or {}
    missing = [item for item in CHECKLIST_ITEMS if not checklist.get(item)]
    if missing:
        return Reason("checklist_unchecked",
                      f"confirm the checklist first (unchecked: {', '.join(missing)})",
                      items=missing)
    if ctx.order.checklist_confirmed_at is None:
        return Reason("checklist_unconfirmed", "confirm the checklist first")
    return None


async def terminal_registered_and_reporting(ctx: TransitionContext) -> str | None:
    """An install completes once terminal and SIM are registered on the vehicle and the gateway
    received a valid fix from that terminal after the registration."""
    order = ctx.order
    if order.terminal_pk is None or order.vehicle_pk is None or order.terminal is None:
        return Reason("register_first", "register the terminal and SIM on the vehicle first")
    binding = await open_vehicle_binding(ctx.session, terminal_pk=order.terminal_pk,
                                         vehicle_pk=order.vehicle_pk)
    if binding is None:
        return Reason("terminal_moved", f"terminal {order.terminal.terminal_id} is no longer "
                      "installed in this order's vehicle; register it again",
                      terminal=order.terminal.terminal_id)
    if await open_sim_binding(ctx.session, terminal_pk=order.terminal_pk) is None:
        return Reason("sim_missing", f"terminal {order.terminal.terminal_id} has no SIM "
                      "registered", terminal=order.terminal.terminal_id)
    if await fix_received_since(ctx.session, order.terminal.terminal_id,
                                binding.valid_from) is None:
        at = binding.valid_from.isoformat(timespec="seconds")
        return Reason("no_fix_yet", f"no valid fix received from terminal "
                      f"{order.terminal.terminal_id} since its registration at {at}; check "
                      "power, antenna and SIM, then retry",
                      terminal=order.terminal.terminal_id, at=at)
    return None


async def report_written(ctx: TransitionContext) -> str | None:
    """A repair completes with its diagnosis and the actions taken."""
    missing = [name for name, value in (("diagnosis", ctx.order.diagnosis),
                                        ("actions_taken", ctx.order.actions_taken))
               if not (value or "").strip()]
    if missing:
        return Reason("report_missing", f"record the {' and '.join(missing)} first",
                      fields=missing)
    return None


async def set_assignee(ctx: TransitionContext) -> None:
    user: User = ctx.resolved["assignee"]
    ctx.order.assignee = user
    ctx.order.assignee_pk = user.id
