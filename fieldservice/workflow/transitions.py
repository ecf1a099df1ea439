"""The work-order state machine as a data table, and the one function that executes it.

A :class:`Transition` names an action (``approve``), the states it leaves, the state it enters,
the roles that may ask for it, and guard functions that refuse it (with a reason) until the
order is ready. Guards are ``async (ctx) -> str | None`` and must not write; effects are
``async (ctx) -> None`` and run after every guard passed. Later features extend the machine by
building a new table::

    table = default_transitions().extended(Transition(action="escalate", ...))
    table = table.with_guards("close", payment_settled)

and pass it to ``create_app(transitions=...)``; the API grows one POST route per action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import (
    NotFound,
    PermissionDenied,
    Reason,
    StaleVersion,
    TransitionRefused,
)
from fieldservice.models import WorkOrder, WorkOrderState, WorkOrderTransition, WorkOrderType
from fieldservice.roles import FIELD_ROLES, Role
from fieldservice.timestamps import utcnow
from fieldservice.workflow.requests import TransitionRequest


@dataclass(slots=True)
class TransitionContext:
    session: AsyncSession
    order: WorkOrder
    actor: Actor
    request: TransitionRequest
    now: datetime
    #: what guards resolved for effects (the assignee's User row, ...)
    resolved: dict[str, Any] = field(default_factory=dict)


Guard = Callable[[TransitionContext], Awaitable[str | None]]
Effect = Callable[[TransitionContext], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Transition:
    action: str
    sources: frozenset[WorkOrderState]
    target: WorkOrderState
    roles: frozenset[Role]
    guards: tuple[Guard, ...] = ()
    effects: tuple[Effect, ...] = ()
    #: field roles may only act on orders assigned to them
    assignee_only: bool = False
    #: None: every order type
    order_types: frozenset[WorkOrderType] | None = None
    request_model: type[TransitionRequest] = TransitionRequest
    summary: str = ""

    def __post_init__(self) -> None:
        if not self.action.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"transition action must be a URL-safe word: {self.action!r}")
        if not self.sources or not self.roles:
            raise ValueError(f"transition {self.action!r} needs source states and roles")


class TransitionTable:
    """An immutable set of transitions keyed by action."""

    def __init__(self, transitions: Iterable[Transition]) -> None:
        self._by_action: dict[str, Transition] = {}
        for t in transitions:
            if t.action in self._by_action:
                raise ValueError(f"duplicate transition action {t.action!r}")
            self._by_action[t.action] = t

    def __iter__(self) -> Iterator[Transition]:
        return iter(self._by_action.values())

    def __len__(self) -> int:
        return len(self._by_action)

    def __contains__(self, action: object) -> bool:
        return action in self._by_action

    def get(self, action: str) -> Transition:
        try:
            return self._by_action[action]
        except KeyError:
            raise NotFound(f"no work-order action {action!r}") from None

    def from_state(self, state: WorkOrderState) -> list[Transition]:
        return [t for t in self if state in t.sources]

    def extended(self, *transitions: Transition) -> TransitionTable:
        return TransitionTable([*self, *transitions])

    def replaced(self, transition: Transition) -> TransitionTable:
        self.get(transition.action)
        return TransitionTable(transition if t.action == transition.action else t for t in self)

    def with_guards(self, action: str, *guards: Guard) -> TransitionTable:
        t = self.get(action)
        return self.replaced(replace(t, guards=(*t.guards, *guards)))

    def with_effects(self, action: str, *effects: Effect) -> TransitionTable:
        t = self.get(action)
        return self.replaced(replace(t, effects=(*t.effects, *effects)))


def check_actor(transition: Transition, order: WorkOrder, actor: Actor) -> None:
    """Role and row-level permission (403); system actors pass."""
    if actor.is_system:
        return
    if actor.role not in transition.roles:
        raise PermissionDenied(Reason(
            "role", f"role {actor.role} may not {transition.action} work orders "
            f"(allowed: {', '.join(sorted(transition.roles))})",
            role=str(actor.role), action=transition.action, roles=sorted(transition.roles)))
    if transition.assignee_only and actor.role in FIELD_ROLES and (
        order.assignee_pk != actor.user_pk
    ):
        raise PermissionDenied(Reason("not_assignee",
                                      f"work order {order.number} is not assigned to you",
                                      number=order.number))


def structural_reasons(transition: Transition, order: WorkOrder) -> list[str]:
    """Why the action cannot apply to this order at all, whatever its fields hold."""
    if order.state not in transition.sources:
        states = sorted(s.value for s in transition.sources)
        return [Reason("wrong_state", f"it is {order.state.value}, and {transition.action} "
                       f"applies only to orders that are {', '.join(states)}",
                       state=order.state.value, action=transition.action, states=states)]
    if transition.order_types is not None and order.type not in transition.order_types:
        kinds = sorted(k.value for k in transition.order_types)
        return [Reason("wrong_type", f"{transition.action} applies only to "
                       f"{', '.join(kinds)} orders", action=transition.action, types=kinds)]
    return []


async def guard_reasons(transition: Transition, ctx: TransitionContext) -> list[str]:
    reasons = structural_reasons(transition, ctx.order)
    if reasons:
        return reasons
    for guard in transition.guards:
        reason = await guard(ctx)
        if reason:
            reasons.append(reason)
    return reasons


async def perform(
    session: AsyncSession,
    *,
    table: TransitionTable,
    order: WorkOrder,
    action: str,
    actor: Actor,
    request: TransitionRequest,
    now: datetime | None = None,
) -> WorkOrderTransition:
    """Run one transition: permission (403), version (409), state and guards (409 with every
    reason), effects, the state change and its history row, in the caller's transaction."""
    transition = table.get(action)
    check_actor(transition, order, actor)
    if request.version != order.version:
        raise StaleVersion(f"work order {order.number}", current=order.version,
                           sent=request.version)
    ctx = TransitionContext(session=session, order=order, actor=actor, request=request,
                            now=now or utcnow())
    reasons = await guard_reasons(transition, ctx)
    if reasons:
        raise TransitionRefused(order=order.number, action=action, reasons=reasons)
    for effect in transition.effects:
        await effect(ctx)
    record = WorkOrderTransition(
        work_order_pk=order.id, action=action, from_state=order.state.value,
        to_state=transition.target.value, at=ctx.now, actor_pk=actor.user_pk,
        actor_name=actor.name, note=request.note,
    )
    order.state = transition.target
    order.state_changed_at = ctx.now
    session.add(record)
    await session.flush()
    return record
