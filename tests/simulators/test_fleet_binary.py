"""Fleets speaking JT/T 808 and GT06 over real TCP into the real gateway: registration and
login, every location arriving as the record sent, alarm faults in the alarm word, broken check
codes counted, and commands answered by the simulated terminals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from devices.commands import Command, CommandKind
from devices.records import Fix, NoFix
from devices.status import Alarm
from fieldgate.dburl import DatabaseURL
from gateway import Gateway, GatewayConfig, TcpConfig
from simulators.clock import ScaledClock
from simulators.errors import SpecError
from simulators.faults import parse_fault
from simulators.fleet import Fleet
from simulators.transports import TcpTransport
from simulators.truth import TruthLog
from telemetry.commands import CommandState, CommandStore
from tests.gateway.memsink import MemorySink
from tests.waiting import eventually

START = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)


def gateway_config() -> GatewayConfig:
    return GatewayConfig(listeners=(TcpConfig(host="127.0.0.1", port=0, protocol="jt808"),
                                    TcpConfig(host="127.0.0.1", port=0, protocol="gt06")))


@pytest.mark.parametrize(("protocol", "prefix"), [("jt808", "1390000"),
                                                  ("gt06", "86412030000")])
async def test_a_binary_fleet_reports_every_record_with_its_alarms(protocol: str,
                                                                   prefix: str) -> None:
    sink = MemorySink()
    truth = TruthLog()
    faults = [parse_fault(f"{prefix}0001/power_cut@5s+5s"),
              parse_fault(f"{prefix}0002/antenna:short@2s+3s"),
              parse_fault(f"{prefix}0002/no_fix@12s+3s")]
    async with Gateway(config=gateway_config(), sink=sink) as gateway:
        port = gateway.listeners[protocol].port
        fleet = Fleet(transport=TcpTransport("127.0.0.1", port, protocol=protocol),
                      terminals=3, duration=20, id_prefix=prefix, faults=faults,
                      clock=ScaledClock(speed=40, start=START), truth=truth)
        async with fleet:
            await fleet.wait()
        await eventually(lambda: sum(len(v) for v in sink.records.values()) == 60, timeout=10)
    assert fleet.stats.sent_reports == 60 and fleet.stats.lost == 0
    assert sorted(sink.records) == fleet.ids
    one, two = sink.records[f"{prefix}0001"], sink.records[f"{prefix}0002"]
    cut = [r.time for r in one if r.status is not None and Alarm.POWER_CUT in r.status.alarms]
    assert cut == [START + timedelta(seconds=s) for s in range(5, 10)]
    short = [r for r in two if r.status is not None and Alarm.ANTENNA_SHORT in r.status.alarms]
    assert len(short) == (3 if protocol == "jt808" else 0)  # GT06 has no antenna alarm code
    assert sum(isinstance(r, NoFix) for r in two) == 3
    # positions as sent, to the wire's resolution (1e-6 degree; GT06 1/1,800,000)
    sent = {(r.terminal_id, r.record.time): r.record for r in truth if isinstance(r.record, Fix)}
    for tid, records in sink.records.items():
        for rec in records:
            if isinstance(rec, Fix):
                want = sent[(tid, rec.time)]
                assert abs(rec.lat - want.lat) < 1e-6 and abs(rec.lon - want.lon) < 1e-6
    assert all(s.transport == protocol for s in sink.opened)


async def test_broken_check_codes_are_counted_by_the_gateway() -> None:
    sink = MemorySink()
    async with Gateway(config=gateway_config(), sink=sink) as gateway:
        fleet = Fleet(transport=TcpTransport("127.0.0.1", gateway.listeners["jt808"].port,
                                             protocol="jt808"),
                      terminals=1, duration=20, id_prefix="1390000",
                      faults=[parse_fault("checksum:1@10s+5s")],
                      clock=ScaledClock(speed=40, start=START))
        async with fleet:
            await fleet.wait()
        await eventually(lambda: len(sink.records.get("13900000001", [])) == 15)
        rejected = gateway.listeners["jt808"].metrics.decode_totals().rejected
    assert rejected == {"bad_checksum": 5}


async def test_a_simulated_fleet_answers_commands(db: DatabaseURL) -> None:
    sink = MemorySink()
    async with CommandStore(db) as store, \
            Gateway(config=gateway_config(), sink=sink, commands=store,
                    command_interval=0.05) as gateway:
        fleet = Fleet(transport=TcpTransport("127.0.0.1", gateway.listeners["jt808"].port,
                                             protocol="jt808"),
                      terminals=2, id_prefix="1390000", interval=0.2)
        async with fleet:
            command = await store.create("13900000002",
                                         Command(CommandKind.SET_INTERVAL, interval_s=15),
                                         created_by="test")

            async def state() -> CommandState:
                row = await store.get(command.id)
                assert row is not None
                return row.state

            for _ in range(200):
                if await state() is CommandState.ACKNOWLEDGED:
                    break
                await asyncio.sleep(0.05)
            assert await state() is CommandState.ACKNOWLEDGED
            link = fleet.links["13900000002"]
            assert link.device.params[0x0029] == (15).to_bytes(4)  # type: ignore[attr-defined]


def test_binary_protocols_need_numeric_ids() -> None:
    with pytest.raises(SpecError, match="digits"):
        TcpTransport("127.0.0.1", 1, protocol="jt808").link("SIM0001")
    with pytest.raises(SpecError, match="unknown protocol"):
        TcpTransport("127.0.0.1", 1, protocol="h02")
