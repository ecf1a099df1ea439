"""Fleets over real TCP sockets into a real asyncio server that decodes what arrives."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from devices.nmea import Reject
from devices.records import Fix, NoFix
from simulators.clock import ScaledClock
from simulators.faults import parse_fault
from simulators.fleet import Fleet
from simulators.transports import Backoff, TcpTransport
from simulators.truth import TruthLog
from tests.simulators.nmea_server import NmeaServer

START = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)
FAST = Backoff(initial=0.2, maximum=1.0)


def clock(speed: float = 100.0) -> ScaledClock:
    return ScaledClock(speed=speed, start=START)


@pytest.fixture
async def server():
    srv = await NmeaServer().start()
    yield srv
    await srv.stop()


async def test_a_fleet_identifies_and_every_fix_sent_arrives(server: NmeaServer) -> None:
    truth = TruthLog()
    fleet = Fleet(transport=TcpTransport("127.0.0.1", server.port), terminals=4, duration=30,
                  clock=clock(), truth=truth)
    async with fleet:
        await fleet.wait()
    stats = fleet.snapshot()
    assert stats["connects"] == 4 and stats["reconnects"] == 0 and stats["connected"] == 0
    assert stats["sent_reports"] == stats["fixes"] == 120 and stats["lost"] == 0
    await server.wait_for(lambda: all(s.closed for s in server.sessions))
    got = server.by_terminal()
    assert sorted(got) == fleet.ids  # each connection announced itself with $PGID
    assert all(isinstance(report.record, Fix) for report in truth)
    for tid, records in got.items():
        sent = [r.record for r in truth if r.terminal_id == tid]
        assert [replace(r, terminal=None) for r in records] == sent
        assert all(r.terminal == tid for r in records)
    # epochs are on whole seconds; transmissions were spread over the second
    assert {r.record.time.microsecond for r in truth} == {0}
    assert server.rejected() == {}


async def test_faults_arrive_as_the_decoder_sees_them(server: NmeaServer) -> None:
    truth = TruthLog()
    faults = [parse_fault(s) for s in ("SIM0001/no_fix@5s+5s", "SIM0002/checksum:0.5@0s+10s",
                                       "garbage:0.5@10s+5s", "SIM0002/skew:+10m@15s")]
    fleet = Fleet(transport=TcpTransport("127.0.0.1", server.port), terminals=2, duration=20,
                  clock=clock(), faults=faults, truth=truth)
    async with fleet:
        await fleet.wait()
    await server.wait_for(lambda: all(s.closed for s in server.sessions))
    got = server.by_terminal()
    assert sum(isinstance(r, NoFix) for r in got["SIM0001"]) == 5
    rejected = server.rejected()
    assert rejected[Reject.BAD_CHECKSUM] == fleet.stats.corrupted > 0
    assert rejected[Reject.NO_SENTENCE] == fleet.stats.noise_lines > 0
    skewed = [r for r in got["SIM0002"] if (r.time - START).total_seconds() > 600]
    assert len(skewed) == 5
    stored = {(tid, r.time) for tid, recs in got.items() for r in recs if isinstance(r, Fix)}
    assert truth.keys() <= stored  # every intact fix sent arrived


async def test_reconnect_storm_reconnects_on_schedule(server: NmeaServer) -> None:
    fleet = Fleet(transport=TcpTransport("127.0.0.1", server.port), terminals=3, duration=20,
                  clock=clock(), faults=[parse_fault("SIM0002/storm:every=1s@5s+6s")])
    async with fleet:
        await fleet.wait()
    # a reconnect at 5, 6, 7, 8, 9 and 10 s
    assert fleet.stats.reconnects == 6 == fleet.stats.disconnects
    await server.wait_for(lambda: len(server.sessions) == 3 + 6 and
                          all(s.closed for s in server.sessions))
    per_terminal = [s.terminal for s in server.sessions]
    assert per_terminal.count("SIM0002") == 7 and per_terminal.count("SIM0001") == 1
    assert fleet.stats.lost == 0  # the storm costs connections, not reports


async def test_silent_drop_closes_the_connection_and_comes_back(server: NmeaServer) -> None:
    truth = TruthLog()
    fleet = Fleet(transport=TcpTransport("127.0.0.1", server.port), terminals=1, duration=20,
                  clock=clock(), faults=[parse_fault("silent:drop@5s+5s")], truth=truth)
    async with fleet:
        await server.wait_for(lambda: len(server.sessions) == 1 and server.sessions[0].closed)
        first = server.sessions[0]
        await fleet.wait()
    assert first.terminal == "SIM0001"
    assert len(first.records) == 5  # 0..4 s, then the terminal hung up
    assert fleet.stats.silent == 5 and fleet.stats.reconnects == 1
    await server.wait_for(lambda: len(server.sessions) == 2 and server.sessions[1].closed)
    assert len(server.sessions[1].records) == 10
    assert len(truth) == 15


async def test_a_server_closing_connections_makes_terminals_dial_again() -> None:
    server = await NmeaServer(close_after=600).start()  # about four reports per connection
    try:
        fleet = Fleet(transport=TcpTransport("127.0.0.1", server.port), terminals=2,
                      duration=30, clock=clock(), backoff=FAST)
        async with fleet:
            await fleet.wait()
        assert fleet.stats.reconnects >= 8
        assert fleet.stats.disconnects >= 8
        assert fleet.stats.connect_failures == 0
    finally:
        await server.stop()


async def test_a_gateway_that_is_down_then_up_gets_the_fleet_after_backoff() -> None:
    server = NmeaServer()
    await server.start()
    port = server.port
    await server.stop()  # nothing listens on the port now
    fleet = Fleet(transport=TcpTransport("127.0.0.1", port), terminals=2, duration=40,
                  clock=clock(50), backoff=FAST)
    async with fleet:
        await asyncio.sleep(0.15)  # about 7 s of simulated time
        assert fleet.stats.connect_failures >= 2 and fleet.stats.connects == 0
        await server.start(port)
        await fleet.wait()
    try:
        assert fleet.stats.connects == 2
        assert fleet.stats.lost > 0  # reports due while down are gone (no store and forward)
        assert fleet.stats.sent_reports + fleet.stats.lost == 80
        await server.wait_for(lambda: len(server.sessions) == 2 and
                              all(s.closed for s in server.sessions))
        assert sum(len(s.records) for s in server.sessions) == fleet.stats.sent_reports
    finally:
        await server.stop()


async def test_stop_is_clean_while_a_peer_does_not_read() -> None:
    server = await NmeaServer(read=False).start()
    try:
        fleet = Fleet(transport=TcpTransport("127.0.0.1", server.port), terminals=2,
                      clock=clock(), faults=[parse_fault("overlong:1,length=65536")])
        async with fleet:
            # the server never reads: writes back up until drain() waits (backpressure)
            await asyncio.sleep(0.5)
        assert fleet.stats.connected == 0
    finally:
        await server.stop()
