"""Downlink commands: from the command log to the connections that hold their terminals.

:class:`CommandRelay` runs in each gateway process next to its listeners. Every ``interval``
seconds it reads the pending commands (one query, whatever the number of connections), keeps
those whose terminal is connected *here*, claims each (``pending → sent``: only one process
wins) and writes it to the connection; the protocol's stream encodes it
(:meth:`devices.protocols.ProtocolStream.send_command`). The terminal's answers come back
through the connection (:class:`~devices.commands.CommandAnswer`) and are recorded. A command
whose terminal is not connected stays pending until it connects, or until it expires (the
log's business). The gateway knows no SQL: :class:`CommandSource` is what it needs of the log
(``telemetry.commands.CommandStore``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from devices.commands import Command, CommandAnswer, UnsupportedCommand

log = logging.getLogger(__name__)


class CommandSource(Protocol):
    async def pending(self) -> Sequence[tuple[int, str, Command]]:
        """(command id, terminal id, command) of the commands waiting to be sent."""

    async def claim(self, command_id: int) -> bool:
        """Mark it sent; False when another process (or its expiry) took it first."""

    async def answered(self, command_id: int, *, ok: bool, text: str) -> None: ...

    async def failed(self, command_id: int, reason: str) -> None: ...


class CommandTarget(Protocol):
    """A connection that can carry commands (``gateway.connection.StreamConnection``)."""

    def send_command(self, command_id: int, command: Command) -> None: ...


class CommandRelay:
    """Args:
    source: the command log.
    connections: the identified connections of this process's listeners, by terminal id.
    interval: seconds between reads of the log.
    """

    def __init__(self, *, source: CommandSource,
                 connections: Callable[[], Iterable[tuple[str, CommandTarget]]],
                 interval: float = 1.0) -> None:
        self.source = source
        self.connections = connections
        self.interval = interval
        self.sent = 0
        self.answers = 0
        self.refused = 0
        self._answers: list[tuple[int, CommandAnswer]] = []
        self._wake = asyncio.Event()
        self._failing = False

    def answered(self, command_id: int, answer: CommandAnswer) -> None:
        """A connection got the terminal's answer (called on the event loop, never blocks)."""
        self._answers.append((command_id, answer))
        self._wake.set()

    def wake(self) -> None:
        """Look at the log now (a terminal just connected)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver and record until cancelled; a database that is away is retried."""
        while True:
            try:
                await self.cycle()
                if self._failing:
                    log.warning("commands: the command log is reachable again")
                    self._failing = False
            except Exception as exc:
                if not self._failing:
                    log.warning("commands: cannot use the command log (%s); retrying", exc)
                    self._failing = True
            if self._failing:
                await asyncio.sleep(self.interval)
                continue
            self._wake.clear()
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def cycle(self) -> None:
        await self._record_answers()
        # read (and so expire) even with no terminal connected here: a command for a terminal
        # that never connects must still end as expired
        pending = await self.source.pending()
        here = dict(self.connections())
        for command_id, terminal, command in pending:
            conn = here.get(terminal)
            if conn is None:
                continue
            if not await self.source.claim(command_id):
                continue
            try:
                conn.send_command(command_id, command)
            except UnsupportedCommand as exc:
                self.refused += 1
                await self.source.failed(command_id, str(exc))
                continue
            self.sent += 1
            log.info("command %d (%s) sent to %s", command_id, command.kind, terminal)

    async def _record_answers(self) -> None:
        while self._answers:
            command_id, answer = self._answers[0]
            await self.source.answered(command_id, ok=answer.ok, text=answer.text)
            del self._answers[0]  # only once recorded: a failure keeps it for the next cycle
            self.answers += 1
