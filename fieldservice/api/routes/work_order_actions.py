"""Work-order transitions (one POST route per action of the transition table) and field work.

No ``from __future__ import annotations`` here: the transition routes are built in a loop and
FastAPI must see each one's request model as a real annotation, not a string it would look up
in module globals.
"""

from typing import Annotated

from fastapi import APIRouter, Depends

from fieldservice.actors import Actor
from fieldservice.api.deps import (
    FieldWorker,
    IdPath,
    RoleGate,
    SessionDep,
    StateDep,
)
from fieldservice.schemas.work_orders import (
    ChecklistBody,
    RegisterTerminalBody,
    ReportBody,
    SimSwapBody,
    TerminalSwapBody,
    WorkOrderPublic,
)
from fieldservice.services import field_work
from fieldservice.services import work_orders as service
from fieldservice.workflow import Transition, TransitionTable

PREFIX = "/api/work-orders"
#: sub-paths taken by field work and queries; a transition may not be called like them
RESERVED = frozenset({"checklist", "report", "register-terminal", "terminal-swap", "sim-swap",
                      "swaps", "transitions", "actions"})


async def _reloaded(session: SessionDep, order_id: int, actor: Actor) -> WorkOrderPublic:
    return WorkOrderPublic.of(await service.get_order(session, order_id, actor=actor,
                                                      reload=True))


def _transition_endpoint(transition: Transition):  # noqa: ANN202 (FastAPI reads the signature)
    Request = transition.request_model  # noqa: N806 - a class, named as one
    gate = RoleGate(transition.roles, f"{transition.action} work orders")

    # FastAPI reads this annotation at run time: each transition's own request model
    async def endpoint(order_id: IdPath, body: Request,  # type: ignore[valid-type]
                       actor: Annotated[Actor, Depends(gate)],
                       session: SessionDep, state: StateDep) -> WorkOrderPublic:
        await service.run_transition(session, table=state.transitions, order_pk=order_id,
                                     action=transition.action, actor=actor, request=body)
        await session.commit()
        state.metrics.transitions.labels(transition.action).inc()
        return await _reloaded(session, order_id, actor)

    endpoint.__name__ = f"{transition.action.replace('-', '_')}_work_order"
    return endpoint


def transition_router(table: TransitionTable) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["work order transitions"])
    for transition in table:
        if transition.action in RESERVED:
            raise ValueError(f"transition action {transition.action!r} clashes with a route")
        sources = ", ".join(sorted(s.value for s in transition.sources))
        router.add_api_route(
            f"/{{order_id}}/{transition.action}", _transition_endpoint(transition),
            methods=["POST"], response_model=WorkOrderPublic,
            summary=f"{transition.action}: {sources} -> {transition.target.value}",
            description=(transition.summary or transition.action) + ". Refused with 409 and "
                        "the reasons while a guard is not satisfied.",
        )
    return router


field_router = APIRouter(prefix=PREFIX, tags=["field work"])


@field_router.post("/{order_id}/checklist", response_model=WorkOrderPublic,
                   summary="Confirm the checklist before leaving (assignee)")
async def checklist(order_id: IdPath, body: ChecklistBody, actor: FieldWorker,
                    session: SessionDep) -> WorkOrderPublic:
    await field_work.confirm_checklist(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _reloaded(session, order_id, actor)


@field_router.post("/{order_id}/report", response_model=WorkOrderPublic,
                   summary="Record diagnosis and actions taken on site (assignee)")
async def report(order_id: IdPath, body: ReportBody, actor: FieldWorker,
                 session: SessionDep) -> WorkOrderPublic:
    await field_work.write_report(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _reloaded(session, order_id, actor)


@field_router.post("/{order_id}/register-terminal", response_model=WorkOrderPublic,
                   summary="Install: register terminal id and SIM on the vehicle (assignee)")
async def register_terminal(order_id: IdPath, body: RegisterTerminalBody, actor: FieldWorker,
                            session: SessionDep) -> WorkOrderPublic:
    await field_work.register_terminal(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _reloaded(session, order_id, actor)


@field_router.post("/{order_id}/terminal-swap", response_model=WorkOrderPublic,
                   summary="Repair: replace the vehicle's terminal; the old one is marked "
                           "faulty (assignee)")
async def terminal_swap(order_id: IdPath, body: TerminalSwapBody, actor: FieldWorker,
                        session: SessionDep) -> WorkOrderPublic:
    await field_work.swap_terminal(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _reloaded(session, order_id, actor)


@field_router.post("/{order_id}/sim-swap", response_model=WorkOrderPublic,
                   summary="Repair: replace the terminal's SIM card (assignee)")
async def sim_swap(order_id: IdPath, body: SimSwapBody, actor: FieldWorker,
                   session: SessionDep) -> WorkOrderPublic:
    await field_work.swap_sim(session, actor=actor, order_pk=order_id, body=body)
    await session.commit()
    return await _reloaded(session, order_id, actor)
