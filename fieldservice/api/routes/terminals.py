"""The terminal registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fieldservice.api.deps import PagingDep, RegistryReader, RegistryWriter, SessionDep
from fieldservice.models import TerminalState
from fieldservice.schemas.common import Page
from fieldservice.schemas.fleet import (
    TerminalCreate,
    TerminalDetail,
    TerminalHistory,
    TerminalPublic,
    TerminalUpdate,
)
from fieldservice.services import registry as service
from fieldservice.timestamps import utcnow

router = APIRouter(prefix="/api/terminals", tags=["terminals"])
TerminalIdPath = Annotated[str, Path(max_length=64, description="terminal id (IMEI)")]


@router.get("", response_model=Page[TerminalPublic], summary="List terminals")
async def list_terminals(
    _: RegistryReader, session: SessionDep, paging: PagingDep,
    state: TerminalState | None = None,
    model: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=64, description="part of the terminal id")] = None,
) -> Page[TerminalPublic]:
    page = await service.list_terminals(session, state=state, model=model, q=q,
                                        limit=paging.limit, offset=paging.offset)
    return Page(items=[TerminalPublic.model_validate(t) for t in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def _detail(session: SessionDep, terminal_id: str) -> TerminalDetail:
    terminal = await service.get_terminal(session, terminal_id)
    return await service.terminal_detail(session, terminal, today=utcnow().date())


@router.post("", response_model=TerminalDetail, status_code=status.HTTP_201_CREATED,
             summary="Register a terminal in stock, optionally with its SIM")
async def create_terminal(body: TerminalCreate, actor: RegistryWriter,
                          session: SessionDep) -> TerminalDetail:
    terminal = await service.create_terminal(session, actor=actor, data=body)
    await session.commit()
    return await _detail(session, terminal.terminal_id)


@router.get("/{terminal_id}", response_model=TerminalDetail,
            summary="One terminal: vehicle, SIM, install date and warranty")
async def get_terminal(terminal_id: TerminalIdPath, _: RegistryReader,
                       session: SessionDep) -> TerminalDetail:
    return await _detail(session, terminal_id)


@router.patch("/{terminal_id}", response_model=TerminalDetail, summary="Change a terminal")
async def update_terminal(terminal_id: TerminalIdPath, body: TerminalUpdate,
                          _: RegistryWriter, session: SessionDep) -> TerminalDetail:
    await service.update_terminal(session, terminal_id=terminal_id, data=body)
    await session.commit()
    return await _detail(session, terminal_id)


@router.get("/{terminal_id}/history", response_model=TerminalHistory,
            summary="Vehicles and SIMs of the terminal over time, and its swaps")
async def history(terminal_id: TerminalIdPath, _: RegistryReader,
                  session: SessionDep) -> TerminalHistory:
    terminal = await service.get_terminal(session, terminal_id)
    return await service.terminal_history(session, terminal)


