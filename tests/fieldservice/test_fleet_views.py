"""Fleet views: what the gateway's telemetry writer stored, read back through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devices.records import Fix
from devices.status import Alarm, DeviceStatus
from fieldservice.roles import Role
from gateway.sink import SessionInfo, Transport
from telemetry import Ingest, IngestConfig
from tests.fieldservice.factories import make_terminal, ok, terminal_id

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


async def _report(db, tmp_path, tid: str, fixes: int, *, close: bool,
                  status: DeviceStatus | None = None) -> None:
    config = IngestConfig(spool_dir=tmp_path / "spool", flush_interval=0.02, retry_initial=0.02,
                          retry_max=0.2, shutdown_timeout=5.0, spool_fsync=False)
    session = SessionInfo(terminal_id=tid, transport=Transport.TCP if status is None else "jt808",
                          remote="10.0.0.7:4100",
                          connected_at=datetime.now(UTC), sentences=2 * fixes, rejected=1)
    async with Ingest(db=db, config=config) as sink:
        await sink.session_opened(session)
        await sink.publish(session, [
            Fix(time=T0 + timedelta(seconds=i), lat=39.9 + i * 1e-4, lon=116.4, speed_kn=20.0,
                sats=9, hdop=0.8, fix_quality=1, terminal=tid, status=status)
            for i in range(fixes)])
        if close:
            await sink.session_closed(session)


async def test_latest_state_track_and_unknown_terminals(db, tmp_path, client, staff):
    dispatcher, installer = staff[Role.DISPATCHER], staff[Role.INSTALLER]
    known = terminal_id()
    await make_terminal(client, installer.headers, terminal_id=known)
    stranger = terminal_id()
    await _report(db, tmp_path / "a", known, 5, close=False)
    await _report(db, tmp_path / "b", stranger, 2, close=True)

    fleet = ok(await client.get("/api/fleet/terminals", headers=dispatcher.headers))
    by_id = {t["terminal_id"]: t for t in fleet["terminals"]}
    live = by_id[known]
    assert live["connected"] is True and live["transport"] == "tcp"
    assert live["fixes"] == 5
    assert live["last_fix"]["lat"] == 39.9004
    assert datetime.fromisoformat(live["last_fix"]["time"]) == T0 + timedelta(seconds=4)
    assert fleet["connected"] >= 1

    one = ok(await client.get(f"/api/fleet/terminals/{known}", headers=dispatcher.headers))
    assert one["terminal_id"] == known
    assert (one["acc"], one["alarms"], one["status_at"]) == (None, [], None)  # NMEA: no status

    track = ok(await client.get(
        f"/api/fleet/terminals/{known}/track", headers=dispatcher.headers,
        params={"since": (T0 + timedelta(seconds=1)).isoformat(),
                "until": (T0 + timedelta(seconds=4)).isoformat()}))
    assert [datetime.fromisoformat(p["time"]) for p in track] == [
        T0 + timedelta(seconds=i) for i in (1, 2, 3)]

    unknown = ok(await client.get("/api/fleet/unknown-terminals", headers=installer.headers))
    assert unknown["total"] == 1
    assert [u["terminal_id"] for u in unknown["items"]] == [stranger]
    assert unknown["items"][0]["message_count"] >= 1


async def test_ignition_and_alarms_of_binary_terminals(db, tmp_path, client, staff):
    dispatcher, installer = staff[Role.DISPATCHER], staff[Role.INSTALLER]
    known = terminal_id()
    await make_terminal(client, installer.headers, terminal_id=known)
    await _report(db, tmp_path, known, 2, close=False, status=DeviceStatus(
        acc=False, alarms=frozenset({Alarm.POWER_CUT})))
    one = ok(await client.get(f"/api/fleet/terminals/{known}", headers=dispatcher.headers))
    assert one["acc"] is False and one["alarms"] == ["power_cut"]
    assert one["status_at"] is not None


async def test_errors_are_clear(client, staff):
    dispatcher = staff[Role.DISPATCHER]
    missing = await client.get("/api/fleet/terminals/NOPE", headers=dispatcher.headers)
    assert missing.status_code == 404
    assert "has not reported" in missing.json()["detail"]
    backwards = await client.get("/api/fleet/terminals/X/track", headers=dispatcher.headers,
                                 params={"since": "2026-01-02T00:00:00Z",
                                         "until": "2026-01-01T00:00:00Z"})
    assert backwards.status_code == 422
    technician = staff[Role.TECHNICIAN]
    forbidden = await client.get("/api/fleet/terminals", headers=technician.headers)
    assert forbidden.status_code == 403


async def test_fleet_page_is_a_static_shell(client):
    page = await client.get("/fleet")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "/api/fleet/terminals" in page.text and "/api/auth/token" in page.text
    app_shell = await client.get("/")
    assert app_shell.status_code == 200 and "/static/js/main.js" in app_shell.text
    script = await client.get("/static/js/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    # both pages name their icon, so that browsers do not ask for a /favicon.ico (a 404 and
    # a console error at the first visit)
    link = '<link rel="icon" href="/static/icon.svg"'
    assert link in page.text and link in app_shell.text
    icon = await client.get("/static/icon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


async def test_unregistered_terminals_come_in_pages(db, tmp_path, client, staff):
    installer = staff[Role.INSTALLER]
    strangers = [terminal_id() for _ in range(5)]
    for n, tid in enumerate(strangers):
        await _report(db, tmp_path / str(n), tid, 1, close=True)
    pages = [ok(await client.get("/api/fleet/unknown-terminals", headers=installer.headers,
                                 params={"limit": 2, "offset": offset}))
             for offset in (0, 2, 4)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    listed = [u["terminal_id"] for p in pages for u in p["items"]]
    assert sorted(listed) == sorted(strangers)  # every one once: none repeated, none skipped
    seen = [u["last_seen_at"] for p in pages for u in p["items"]]
    assert seen == sorted(seen, reverse=True)  # most recent first, across pages

    await make_terminal(client, installer.headers, terminal_id=strangers[0])
    after = ok(await client.get("/api/fleet/unknown-terminals", headers=installer.headers))
    assert after["total"] == 4 and strangers[0] not in {u["terminal_id"] for u in after["items"]}

    r = await client.get("/api/fleet/unknown-terminals", headers=installer.headers,
                         params={"offset": 10232700547507637945630720})
    assert r.status_code == 422
