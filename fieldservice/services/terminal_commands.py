"""A downlink command for a registered terminal, written with its audit entry in the caller's
transaction (the API route and ``fieldgate terminals command`` both go through here; the
command log itself is ``telemetry.commands``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from devices.commands import Command
from fieldservice.actors import Actor
from fieldservice.models import AuditEntry
from fieldservice.services import registry
from fieldservice.timestamps import utcnow
from telemetry.commands import CommandRow, insert_command


async def create_command(session: AsyncSession, *, actor: Actor, terminal_id: str,
                         command: Command, ttl: timedelta) -> CommandRow:
    """Raises ``NotFound`` when the terminal is not registered."""
    terminal = await registry.get_terminal(session, terminal_id)
    now = utcnow()
    row = await insert_command(session, terminal.terminal_id, command, created_by=actor.name,
                               now=now, ttl=ttl)
    session.add(AuditEntry(
        at=now, actor_pk=actor.user_pk, actor_name=actor.name, entity="terminal_commands",
        entity_pk=str(row.id), action="create",
        changes={"terminal_id": [None, terminal.terminal_id],
                 "kind": [None, str(command.kind)], "interval_s": [None, command.interval_s],
                 "text": [None, command.text]},
        context=f"command for terminal {terminal.terminal_id}"))
    return row
