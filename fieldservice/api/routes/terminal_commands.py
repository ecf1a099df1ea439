"""Downlink commands for JT/T 808 and GT06 terminals (issue 8): a dispatcher asks, a gateway
holding the terminal's connection sends, the terminal's answer is recorded.

The command log is ``telemetry.commands`` (the gateway reads it too); this module validates
the request, checks that the terminal is registered, writes the command with its audit entry
in one transaction, and lists a terminal's commands with their states.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Self

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from devices.commands import MAX_TEXT, Command, CommandKind
from fieldservice.api.deps import CommandsReader, CommandsSender, PagingDep, SessionDep
from fieldservice.schemas.common import Page
from fieldservice.services import registry
from fieldservice.services.terminal_commands import create_command
from telemetry.commands import CommandRow, CommandState, list_commands

router = APIRouter(prefix="/api/terminals", tags=["terminals"])
TerminalIdPath = Annotated[str, Path(max_length=64, description="terminal id")]


class TerminalCommandCreate(BaseModel):
    kind: CommandKind = Field(description="set_interval (interval_s), locate, text (text), "
                                          "reset, raw (text: a GT06-family command string)")
    interval_s: int | None = Field(None, ge=1, le=86_400,
                                   description="set_interval: the report interval, seconds")
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT, pattern=r"\S",
                             description="text: the message; raw: the command string")
    expires_in_s: int = Field(3600, ge=10, le=7 * 86_400,
                              description="how long the command waits for the terminal to "
                                          "connect and answer before it expires")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind is CommandKind.SET_INTERVAL and self.interval_s is None:
            raise PydanticCustomError("command_needs", "{kind} needs {field}",
                                     {"kind": "set_interval", "field": "interval_s"})
        if self.kind in (CommandKind.TEXT, CommandKind.RAW) and not self.text:
            raise PydanticCustomError("command_needs", "{kind} needs {field}",
                                     {"kind": self.kind.value, "field": "text"})
        if self.kind is CommandKind.RAW and self.text and not self.text.isascii():
            raise PydanticCustomError("command_ascii", "a raw command is ASCII")
        return self


class TerminalCommandPublic(BaseModel):
    id: int
    terminal_id: str
    kind: CommandKind
    interval_s: int | None
    text: str | None
    state: CommandState = Field(description="pending (waiting for the terminal), sent, "
                                            "acknowledged, failed or expired")
    created_by: str
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    result: str | None = Field(description="the terminal's answer, or why it failed")

    @classmethod
    def of(cls, row: CommandRow) -> TerminalCommandPublic:
        return cls.model_validate(row.as_json())


@router.post("/{terminal_id}/commands", response_model=TerminalCommandPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Send a command to a terminal (sent when it is connected)")
async def send_command(terminal_id: TerminalIdPath, body: TerminalCommandCreate,
                       actor: CommandsSender, session: SessionDep) -> TerminalCommandPublic:
    row = await create_command(session, actor=actor, terminal_id=terminal_id,  # 404: unknown
                               command=Command(body.kind, body.interval_s, body.text),
                               ttl=timedelta(seconds=body.expires_in_s))
    await session.commit()
    return TerminalCommandPublic.of(row)


@router.get("/{terminal_id}/commands", response_model=Page[TerminalCommandPublic],
            summary="A terminal's commands, newest first, with their states and answers")
async def terminal_commands(terminal_id: TerminalIdPath, _: CommandsReader,
                            session: SessionDep,
                            paging: PagingDep) -> Page[TerminalCommandPublic]:
    terminal = await registry.get_terminal(session, terminal_id)
    rows, total = await list_commands(session, terminal.terminal_id, limit=paging.limit,
                                      offset=paging.offset)
    return Page(items=[TerminalCommandPublic.of(r) for r in rows], total=total,
                limit=paging.limit, offset=paging.offset)
