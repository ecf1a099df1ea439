"""The command log: downlink commands for terminals, in PostgreSQL or SQLite.

The service layer (API, CLI) writes a command as ``pending``; a gateway process that holds the
terminal's connection claims it (``pending → sent``, one ``UPDATE`` that only one process can
win), sends it, and records the terminal's answer (``acknowledged`` or ``failed``, with its
text). A command not sent or not answered by ``expires_at`` becomes ``expired``. So a
dispatcher sees whether the reporting interval was really changed.

:class:`CommandStore` is what :class:`gateway.commands.CommandRelay` reads and writes through
(the gateway knows no SQL).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from devices.commands import Command, CommandKind
from telemetry.dburl import DatabaseURL
from telemetry.health.store import make_engine

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

terminal_commands = sa.Table(
    "terminal_commands", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("terminal_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("interval_s", sa.Integer),
    sa.Column("text", sa.String(256)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("sent_at", TS),
    sa.Column("answered_at", TS),
    sa.Column("result", sa.String(512)),
)

#: how long a command waits for its terminal (and for the answer) unless told otherwise
DEFAULT_TTL = timedelta(hours=1)


class CommandState(enum.StrEnum):
    PENDING = "pending"  #: waiting for the terminal to be connected
    SENT = "sent"  #: written to the terminal's connection; no answer yet
    ACKNOWLEDGED = "acknowledged"  #: the terminal answered that it did it
    FAILED = "failed"  #: the terminal refused it, or the protocol cannot carry it
    EXPIRED = "expired"  #: not sent, or not answered, before ``expires_at``


OPEN_STATES = (CommandState.PENDING, CommandState.SENT)


@dataclass(frozen=True, slots=True)
class CommandRow:
    id: int
    terminal_id: str
    command: Command
    state: CommandState
    created_by: str
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    result: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "terminal_id": self.terminal_id, "kind": str(self.command.kind),
            "interval_s": self.command.interval_s, "text": self.command.text,
            "state": str(self.state), "created_by": self.created_by,
            "created_at": self.created_at, "expires_at": self.expires_at,
            "sent_at": self.sent_at, "answered_at": self.answered_at, "result": self.result,
        }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(r: Any) -> CommandRow:
    created = _utc(r["created_at"])
    expires = _utc(r["expires_at"])
    assert created is not None and expires is not None  # NOT NULL columns
    return CommandRow(
        id=r["id"], terminal_id=r["terminal_id"],
        command=Command(CommandKind(r["kind"]), r["interval_s"], r["text"]),
        state=CommandState(r["state"]), created_by=r["created_by"], created_at=created,
        expires_at=expires, sent_at=_utc(r["sent_at"]), answered_at=_utc(r["answered_at"]),
        result=r["result"])


async def insert_command(conn: Any, terminal_id: str, command: Command, *, created_by: str,
                         now: datetime, ttl: timedelta = DEFAULT_TTL) -> CommandRow:
    """Write a pending command in the caller's transaction (an ``AsyncConnection`` or an
    ``AsyncSession``: the API records its audit entry in the same one)."""
    result = await conn.execute(terminal_commands.insert().values(
        terminal_id=terminal_id, kind=str(command.kind), interval_s=command.interval_s,
        text=command.text, state=CommandState.PENDING, created_by=created_by,
        created_at=now, expires_at=now + ttl))
    new_id = result.inserted_primary_key[0]
    return CommandRow(id=new_id, terminal_id=terminal_id, command=command,
                      state=CommandState.PENDING, created_by=created_by, created_at=now,
                      expires_at=now + ttl, sent_at=None, answered_at=None, result=None)


async def list_commands(conn: Any, terminal_id: str, *, limit: int = 50,
                        offset: int = 0) -> tuple[list[CommandRow], int]:
    """A terminal's commands, newest first, and how many there are."""
    where = terminal_commands.c.terminal_id == terminal_id
    total = (await conn.execute(sa.select(sa.func.count()).select_from(
        terminal_commands).where(where))).scalar_one()
    rows = (await conn.execute(terminal_commands.select().where(where).order_by(
        terminal_commands.c.id.desc()).limit(limit).offset(offset))).mappings().all()
    return [_row(r) for r in rows], total


class CommandStore:
    """The command log of one database, as an async context manager (or with an engine)."""

    def __init__(self, db: DatabaseURL | None = None, *, engine: AsyncEngine | None = None,
                 clock: Any = None) -> None:
        if (db is None) == (engine is None):
            raise ValueError("CommandStore needs a database URL or an engine")
        self._db = db
        self._engine = engine
        self._own = engine is None
        self._clock = clock or (lambda: datetime.now(UTC))

    async def __aenter__(self) -> CommandStore:
        if self._engine is None:
            assert self._db is not None
            self._engine = make_engine(self._db)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._own and self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("CommandStore used outside its async with")
        return self._engine

    # -- the service side ------------------------------------------------------------------

    async def create(self, terminal_id: str, command: Command, *, created_by: str,
                     ttl: timedelta = DEFAULT_TTL) -> CommandRow:
        async with self.engine.begin() as conn:
            return await insert_command(conn, terminal_id, command, created_by=created_by,
                                        now=self._clock(), ttl=ttl)

    async def get(self, command_id: int) -> CommandRow | None:
        async with self.engine.connect() as conn:
            r = (await conn.execute(terminal_commands.select().where(
                terminal_commands.c.id == command_id))).mappings().first()
        return _row(r) if r is not None else None

    async def of_terminal(self, terminal_id: str, *, limit: int = 50,
                          offset: int = 0) -> tuple[list[CommandRow], int]:
        async with self.engine.connect() as conn:
            return await list_commands(conn, terminal_id, limit=limit, offset=offset)

    # -- the gateway side (gateway.commands.CommandSource) ---------------------------------

    async def pending(self, *, limit: int = 1000) -> list[tuple[int, str, Command]]:
        """Commands waiting to be sent, oldest first (at most ``limit``); expires what is due
        on the way. One query whatever the number of connections (state is indexed)."""
        await self.expire()
        c = terminal_commands.c
        async with self.engine.connect() as conn:
            rows = (await conn.execute(
                sa.select(c.id, c.terminal_id, c.kind, c.interval_s, c.text)
                .where(c.state == CommandState.PENDING).order_by(c.id).limit(limit))).all()
        return [(r.id, r.terminal_id, Command(CommandKind(r.kind), r.interval_s, r.text))
                for r in rows]

    async def claim(self, command_id: int) -> bool:
        """``pending → sent``; False when another process (or an expiry) took it first."""
        c = terminal_commands.c
        async with self.engine.begin() as conn:
            result = await conn.execute(terminal_commands.update().where(
                c.id == command_id, c.state == CommandState.PENDING).values(
                state=CommandState.SENT, sent_at=self._clock()))
        return result.rowcount == 1

    async def answered(self, command_id: int, *, ok: bool, text: str) -> None:
        c = terminal_commands.c
        async with self.engine.begin() as conn:
            await conn.execute(terminal_commands.update().where(
                c.id == command_id, c.state.in_(OPEN_STATES)).values(
                state=CommandState.ACKNOWLEDGED if ok else CommandState.FAILED,
                answered_at=self._clock(), result=text[:512]))

    async def failed(self, command_id: int, reason: str) -> None:
        """The gateway could not send it (the protocol cannot carry it)."""
        await self.answered(command_id, ok=False, text=reason)

    async def expire(self) -> int:
        c = terminal_commands.c
        async with self.engine.begin() as conn:
            result = await conn.execute(terminal_commands.update().where(
                c.state.in_(OPEN_STATES), c.expires_at < self._clock()).values(
                state=CommandState.EXPIRED))
        return result.rowcount
