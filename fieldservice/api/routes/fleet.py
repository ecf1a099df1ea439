"""Live telemetry for dispatch screens: latest state per terminal, tracks, unknown terminals.

Reads the tables the gateway's telemetry writer keeps (``terminal_state``, ``positions``,
``unknown_terminals``) through :class:`telemetry.queries.TelemetryReader`; this module only
shapes them for HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from fieldservice.api.deps import FleetReader, PagingDep, StateDep
from fieldservice.schemas.common import Instant, Page
from telemetry.errors import QueryError
from telemetry.queries import TelemetryReader

router = APIRouter(prefix="/api/fleet", tags=["fleet"])
TerminalIdPath = Annotated[str, Path(min_length=1, max_length=64, description="terminal id")]
#: the most fixes one track request returns (a day at 1 Hz)
MAX_TRACK = 86_400


class LastFix(BaseModel):
    time: datetime
    lat: float
    lon: float
    speed_kn: float | None
    course_deg: float | None
    alt_m: float | None
    sats: int | None
    hdop: float | None
    fix_quality: int | None


class TerminalLive(BaseModel):
    terminal_id: str
    connected: bool
    transport: str | None
    remote_addr: str | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    last_seen_at: datetime | None
    last_fix: LastFix | None
    sentences: int
    rejected: int
    fixes: int
    connects: int
    acc: bool | None = Field(description="ignition (ACC) as the terminal last reported it; "
                                         "null when it never did (NMEA terminals)")
    alarms: list[str] = Field(description="alarms of the terminal's newest status report "
                                          "(JT/T 808, GT06), e.g. power_cut, antenna_open")
    status_at: datetime | None = Field(description="when that status report arrived")


class FleetLive(BaseModel):
    terminals: list[TerminalLive]
    connected: int
    total: int


class TrackPoint(LastFix):
    received_at: datetime


class UnknownTerminalPublic(BaseModel):
    terminal_id: str
    transport: str
    remote_addr: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    message_count: int
    last_fix_time: datetime | None
    last_lat: float | None
    last_lon: float | None


def _unavailable(exc: QueryError) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"telemetry unavailable: {exc}")


def _live(row) -> TerminalLive:
    last_fix = None
    if row.last_fix_time is not None and row.lat is not None and row.lon is not None:
        last_fix = LastFix(time=row.last_fix_time, lat=row.lat, lon=row.lon,
                           speed_kn=row.speed_kn, course_deg=row.course_deg, alt_m=row.alt_m,
                           sats=row.sats, hdop=row.hdop, fix_quality=row.fix_quality)
    return TerminalLive(
        terminal_id=row.terminal_id, connected=row.connected, transport=row.transport,
        remote_addr=row.remote_addr, connected_at=row.connected_at,
        disconnected_at=row.disconnected_at, last_seen_at=row.last_seen_at, last_fix=last_fix,
        sentences=row.sentences, rejected=row.rejected, fixes=row.fixes, connects=row.connects,
        acc=row.acc, alarms=[a for a in (row.alarms or "").split(",") if a],
        status_at=row.status_at)


@router.get("/terminals", response_model=FleetLive,
            summary="Latest state of every terminal that reported: last fix, link, counters")
async def fleet_terminals(_: FleetReader, state: StateDep) -> FleetLive:
    try:
        async with TelemetryReader(state.db) as reader:
            rows = await reader.latest_states()
    except QueryError as exc:
        raise _unavailable(exc) from exc
    terminals = [_live(r) for r in rows]
    return FleetLive(terminals=terminals, total=len(terminals),
                     connected=sum(t.connected for t in terminals))


@router.get("/terminals/{terminal_id}", response_model=TerminalLive,
            summary="Latest state of one terminal")
async def fleet_terminal(terminal_id: TerminalIdPath, _: FleetReader,
                         state: StateDep) -> TerminalLive:
    try:
        async with TelemetryReader(state.db) as reader:
            row = await reader.latest_state(terminal_id)
    except QueryError as exc:
        raise _unavailable(exc) from exc
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"terminal {terminal_id!r} has not reported to the gateway")
    return _live(row)


@router.get("/terminals/{terminal_id}/track", response_model=list[TrackPoint],
            summary="A terminal's stored fixes with since <= time < until, oldest first")
async def fleet_track(
    terminal_id: TerminalIdPath, _: FleetReader, state: StateDep,
    since: Instant | None = None, until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TRACK)] = 1000,
) -> list[TrackPoint]:
    if since is not None and until is not None and until <= since:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until must be after since")
    try:
        async with TelemetryReader(state.db) as reader:
            return [
                TrackPoint(time=f.fix_time, lat=f.lat, lon=f.lon, speed_kn=f.speed_kn,
                           course_deg=f.course_deg, alt_m=f.alt_m, sats=f.sats, hdop=f.hdop,
                           fix_quality=f.fix_quality, received_at=f.received_at)
                async for f in reader.positions(terminal_id, since=since, until=until,
                                                limit=limit)
            ]
    except QueryError as exc:
        raise _unavailable(exc) from exc


@router.get("/unknown-terminals", response_model=Page[UnknownTerminalPublic],
            summary="Terminals that report but are not registered, most recent first")
async def unknown_terminals(_: FleetReader, state: StateDep,
                            paging: PagingDep) -> Page[UnknownTerminalPublic]:
    try:
        async with TelemetryReader(state.db) as reader:
            total = await reader.count_unknown_terminals()
            rows = await reader.unknown_terminals(limit=paging.limit, offset=paging.offset)
    except QueryError as exc:
        raise _unavailable(exc) from exc
    return Page(items=[UnknownTerminalPublic(
        terminal_id=r.terminal_id, transport=r.transport, remote_addr=r.remote_addr,
        first_seen_at=r.first_seen_at, last_seen_at=r.last_seen_at,
        message_count=r.message_count, last_fix_time=r.last_fix_time, last_lat=r.last_lat,
        last_lon=r.last_lon) for r in rows], total=total, limit=paging.limit,
        offset=paging.offset)
