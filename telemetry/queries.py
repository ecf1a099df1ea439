"""Reads of the telemetry tables: a terminal's track, latest states, unknown terminals.

Used by ``fieldgate positions`` and by the API. Results are frozen records with UTC-aware
datetimes whatever the database (SQLite stores naive UTC text; see telemetry.timestamps).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import psycopg

from devices.records import Fix
from telemetry.dburl import DatabaseURL
from telemetry.errors import QueryError
from telemetry.pgcopy import COLUMNS as POSITION_COLUMNS
from telemetry.store.sql import STATE_COLUMNS, UNKNOWN_COLUMNS
from telemetry.timestamps import as_utc, from_sqlite_text, sqlite_text

T = TypeVar("T")


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class StoredFix:
    """One row of ``positions``."""

    terminal_id: str
    fix_time: datetime
    lat: float
    lon: float
    speed_kn: float | None
    course_deg: float | None
    alt_m: float | None
    sats: int | None
    hdop: float | None
    fix_quality: int | None
    received_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The keys of :meth:`devices.records.Fix.as_json` (``terminal`` = the terminal id)
        plus ``received_at``."""
        out = Fix(time=self.fix_time, lat=self.lat, lon=self.lon, speed_kn=self.speed_kn,
                  course=self.course_deg, alt_m=self.alt_m, sats=self.sats, hdop=self.hdop,
                  fix_quality=self.fix_quality, terminal=self.terminal_id).as_json()
        out["received_at"] = _iso(self.received_at)
        return out


@dataclass(frozen=True, slots=True)
class TerminalState:
    """One row of ``terminal_state``: the latest of one terminal."""

    terminal_id: str
    transport: str | None
    remote_addr: str | None
    connected: bool
    connected_at: datetime | None
    disconnected_at: datetime | None
    last_seen_at: datetime | None
    last_fix_time: datetime | None
    lat: float | None
    lon: float | None
    speed_kn: float | None
    course_deg: float | None
    alt_m: float | None
    sats: int | None
    hdop: float | None
    fix_quality: int | None
    sentences: int
    rejected: int
    fixes: int
    connects: int
    acc: bool | None  #: ignition, as the terminal last reported it (binary protocols)
    alarms: str | None  #: the newest status's alarms, comma-separated ("" for none)
    status_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UnknownTerminal:
    """One row of ``unknown_terminals``: a terminal that reported but is not registered."""

    terminal_id: str
    transport: str
    remote_addr: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    message_count: int
    last_fix_time: datetime | None
    last_lat: float | None
    last_lon: float | None


_TIME_COLUMNS = {"fix_time", "received_at", "connected_at", "disconnected_at", "last_seen_at",
                 "last_fix_time", "updated_at", "first_seen_at", "status_at"}
_UNKNOWN_SELECT = (
    f"SELECT {', '.join('u.' + c for c in UNKNOWN_COLUMNS)} FROM unknown_terminals u "
    "WHERE {registered_filter} ORDER BY u.last_seen_at DESC"
)
_NOT_REGISTERED = ("NOT EXISTS (SELECT 1 FROM terminals t WHERE t.terminal_id = u.terminal_id "
                   "AND t.state NOT IN ('scrapped', 'returned'))")


def _converter(columns: tuple[str, ...], sqlite: bool) -> Callable[[tuple], tuple]:
    conv: list[Callable[[Any], Any] | None]
    if sqlite:
        conv = [from_sqlite_text if c in _TIME_COLUMNS else None for c in columns]
    else:
        conv = [(lambda v: None if v is None else as_utc(v)) if c in _TIME_COLUMNS else None
                for c in columns]
    if "connected" in columns:
        conv[columns.index("connected")] = bool
    if "acc" in columns:  # SQLite keeps booleans as integers
        conv[columns.index("acc")] = lambda v: None if v is None else bool(v)

    def convert(row: tuple) -> tuple:
        return tuple(v if f is None else f(v) for f, v in zip(conv, row, strict=True))

    return convert


class TelemetryReader:
    """Read access to one database, as an async context manager (one connection)."""

    def __init__(self, db: DatabaseURL, *, connect_timeout: float = 5.0) -> None:
        self.db = db
        self._connect_timeout = connect_timeout
        self._pg: psycopg.AsyncConnection | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> TelemetryReader:
        if self.db.is_postgresql:
            try:
                self._pg = await psycopg.AsyncConnection.connect(
                    self.db.conninfo, autocommit=True,
                    connect_timeout=max(1, int(self._connect_timeout)))
            except psycopg.Error as exc:
                raise QueryError(f"cannot connect to {self.db}: {exc}") from exc
        else:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="fieldgate-read")
            self._sqlite = await self._in_thread(self._open_sqlite)
        return self

    def _open_sqlite(self) -> sqlite3.Connection:
        path = self.db.sqlite_path
        if not path.exists():
            raise QueryError(f"no SQLite database at {path} (run `fieldgate db upgrade`)")
        return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True,
                               check_same_thread=False)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._pg is not None:
            await self._pg.close()
        if self._executor is not None:
            if self._sqlite is not None:
                await self._in_thread(self._sqlite.close)
            self._executor.shutdown(wait=True)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._executor is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise QueryError(f"{self.db}: {exc}") from exc

    async def _pg_all(self, query: str, params: tuple) -> list[tuple]:
        assert self._pg is not None
        try:
            cur = await self._pg.execute(query, params)
            return await cur.fetchall()
        except psycopg.Error as exc:
            raise QueryError(f"{self.db}: {exc}") from exc

    async def _all(self, query: str, params: tuple = ()) -> list[tuple]:
        if self._pg is not None:
            return await self._pg_all(query, params)
        sqlite = self._sqlite
        if sqlite is None:
            raise QueryError(f"{self.db}: not open (enter it with 'async with' first)")
        return await self._in_thread(
            lambda: sqlite.execute(query.replace("%s", "?"), params).fetchall())

    def _time_param(self, value: datetime) -> Any:
        return sqlite_text(value) if self._sqlite is not None else as_utc(value)

    # -- positions -----------------------------------------------------------------------------

    async def positions(self, terminal_id: str, *, since: datetime | None = None,
                        until: datetime | None = None,
                        limit: int | None = None) -> AsyncIterator[StoredFix]:
        """A terminal's fixes with ``since <= fix_time < until``, oldest first, streamed."""
        where = ["terminal_id = %s"]
        params: list[Any] = [terminal_id]
        if since is not None:
            where.append("fix_time >= %s")
            params.append(self._time_param(since))
        if until is not None:
            where.append("fix_time < %s")
            params.append(self._time_param(until))
        query = (f"SELECT {', '.join(POSITION_COLUMNS)} FROM positions "
                 f"WHERE {' AND '.join(where)} ORDER BY fix_time")
        if limit is not None:
            query += " LIMIT %s"
            params.append(int(limit))
        convert = _converter(POSITION_COLUMNS, self._sqlite is not None)
        if self._pg is not None:
            cur = self._pg.cursor()
            try:
                async for row in cur.stream(query, params):
                    yield StoredFix(*convert(row))
            except psycopg.Error as exc:
                raise QueryError(f"{self.db}: {exc}") from exc
            return
        assert self._sqlite is not None
        cursor = await self._in_thread(self._sqlite.execute, query.replace("%s", "?"), params)
        while rows := await self._in_thread(cursor.fetchmany, 1000):
            for row in rows:
                yield StoredFix(*convert(row))

    # -- latest state --------------------------------------------------------------------------

    async def latest_states(self) -> list[TerminalState]:
        convert = _converter(STATE_COLUMNS, self._sqlite is not None)
        rows = await self._all(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM terminal_state ORDER BY terminal_id")
        return [TerminalState(*convert(r)) for r in rows]

    async def latest_state(self, terminal_id: str) -> TerminalState | None:
        convert = _converter(STATE_COLUMNS, self._sqlite is not None)
        rows = await self._all(
            f"SELECT {', '.join(STATE_COLUMNS)} FROM terminal_state WHERE terminal_id = %s",
            (terminal_id,))
        return TerminalState(*convert(rows[0])) if rows else None

    # -- unknown terminals ---------------------------------------------------------------------

    async def unknown_terminals(self, *, include_registered: bool = False,
                                limit: int | None = None,
                                offset: int = 0) -> list[UnknownTerminal]:
        """Terminals that reported without being registered, most recently seen first
        (``limit`` of them after the first ``offset``; all when ``limit`` is None).

        Ones registered since (by an installer) are left out unless ``include_registered``.
        """
        query = _UNKNOWN_SELECT.replace(
            "{registered_filter}", "TRUE" if include_registered else _NOT_REGISTERED)
        params: tuple = ()
        if limit is not None:
            # the terminal id breaks ties, so that pages neither repeat nor skip a terminal
            query += ", u.terminal_id LIMIT %s OFFSET %s"
            params = (limit, offset)
        convert = _converter(UNKNOWN_COLUMNS, self._sqlite is not None)
        return [UnknownTerminal(*convert(r)) for r in await self._all(query, params)]

    async def count_unknown_terminals(self, *, include_registered: bool = False) -> int:
        """How many terminals :meth:`unknown_terminals` lists in all."""
        query = ("SELECT count(*) FROM unknown_terminals u WHERE "
                 + ("TRUE" if include_registered else _NOT_REGISTERED))
        return int((await self._all(query))[0][0])
