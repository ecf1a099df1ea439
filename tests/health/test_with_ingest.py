"""HealthSink around the real telemetry writer: everything is stored as without it, and the
offline sweep reads the ``terminal_state`` that writer keeps (its timestamps, both databases)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from devices.records import Fix
from fieldgate.dburl import DatabaseURL
from gateway.sink import SessionInfo, Transport
from telemetry.config import IngestConfig
from telemetry.health import (
    HealthConfig,
    HealthStack,
    NoFixThresholds,
    OfflineThresholds,
)
from telemetry.ingest import Ingest
from tests.health import dbutil


def ingest_config(tmp_path: Path) -> IngestConfig:
    return IngestConfig(spool_dir=tmp_path / "spool", batch_max_rows=500, flush_interval=0.02,
                        state_interval=0.05,
                        queue_max_rows=5000, registry_refresh_interval=60.0,
                        registry_miss_ttl=60.0, spool_fsync=False, shutdown_timeout=2.0)


async def test_health_sink_around_ingest(db: DatabaseURL, tmp_path: Path) -> None:
    for tid in ("LIVE", "QUIET"):
        dbutil.add_terminal(db, tid)
    cfg = HealthConfig(rules={"offline": OfflineThresholds(open_after_s=0.6, clear_after_s=0.3,
                                                           recovery_gap_s=0.3),
                              "no_fix": NoFixThresholds(open_after_s=3600)},
                       tick_s=0.05, sync_every_s=0.2, sweep_every_s=0.1)
    sent = 0
    async with Ingest(db=db, config=ingest_config(tmp_path)) as ingest, \
            HealthStack(db=db, config=cfg) as health:
        sink = health.wrap(ingest)
        sessions = {tid: SessionInfo(tid, Transport.TCP, "127.0.0.1:1", datetime.now(UTC))
                    for tid in ("LIVE", "QUIET")}
        for s in sessions.values():
            await sink.session_opened(s)
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:  # both report
            for s in sessions.values():
                await sink.publish(s, [Fix(time=datetime.now(UTC), lat=48.0, lon=2.0, sats=8,
                                           hdop=0.9, fix_quality=1)])
                sent += 1
            await asyncio.sleep(0.02)
        await sink.session_closed(sessions["QUIET"])
        # LIVE keeps reporting; QUIET is silent: the sweep opens offline for it only
        while not dbutil.faults(db):
            await sink.publish(sessions["LIVE"], [Fix(time=datetime.now(UTC), lat=48.0,
                                                      lon=2.0, sats=8, hdop=0.9,
                                                      fix_quality=1)])
            sent += 1
            await asyncio.sleep(0.02)
        assert dbutil.faults(db) == [{"terminal_id": "QUIET", "rule": "offline",
                                      "state": "open", "clear_reason": None}]
        # QUIET comes back: cleared after the recovery holds
        s = SessionInfo("QUIET", Transport.TCP, "127.0.0.1:2", datetime.now(UTC))
        await sink.session_opened(s)
        while dbutil.faults(db)[0]["state"] == "open":
            for session in (sessions["LIVE"], s):
                await sink.publish(session, [Fix(time=datetime.now(UTC), lat=48.0, lon=2.0,
                                                 sats=8, hdop=0.9, fix_quality=1)])
                sent += 1
            await asyncio.sleep(0.02)
        assert health.monitor.stats.records == sent
    stored = dbutil.execute(db, "SELECT count(*) FROM positions")[0][0]
    assert stored == sent  # the wrapper lost nothing on its way through
    assert dbutil.outbox(db) == [("QUIET", "offline", "opened"), ("QUIET", "offline", "cleared")]
