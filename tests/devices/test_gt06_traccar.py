"""Every GT06 frame of Traccar's decoder tests, replayed (tests/fixtures/traccar/gt06.*).

Traccar turns nearly every GT06 message into a "position": status, heartbeat, information,
LBS, Wi-Fi and command-reply messages get the terminal's last known location. fieldgate makes
positions of GNSS reports only (the packets that carry a GPS block), and status reports of
status packets. So:

- a packet with a GPS block must give a record where Traccar gives a position, and none where
  it gives none, except the listed ones and the frames with a wrong CRC; the capture's model
  lines (Traccar's per-device model, in force until the next) are given to the decoder as the
  terminal's model, and the model variants (NT20/XT40 0x22 and 0x25, QH302R 0x12, AZ735 0x32,
  X1 0x34) are held to Traccar's values;
- status and heartbeat packets give one status report each (no position);
- any other packet gives no record and no rejection (counted by its protocol number), except
  the listed damaged ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.gt06 import Gt06Stream
from devices.gt06.frame import build
from devices.gt06.messages import (
    AZ735_PROTOCOLS,
    LOCATION_PROTOCOLS,
    NT_MODELS,
    Proto,
    encode_login,
)
from devices.records import Fix, NoFix, StatusReport
from devices.reject import Reject
from devices.status import Alarm

VECTORS = Path(__file__).parents[1] / "fixtures" / "traccar"
POSITIVE = {"verifyPosition", "verifyPositions", "verifyAttribute", "verifyAttributes",
            "verifyNotNull"}

#: payload prefix → (reject reason fieldgate counts, why it differs from Traccar)
DIFFERS: dict[str, tuple[Reject, str]] = {
    "787805120099abec": (Reject.TRUNCATED, "a 0x12 with no content: nothing to decode"),
    "78780ca346": (Reject.TRUNCATED, "0xA3 fence report shorter than a GPS block"),
    "78783c3400000000130a": (Reject.TRUNCATED, "X1 0x34: the capture lacks the last stop byte "
                             "(Traccar's test skips the framer); test_x1 completes it"),
}


def _rows() -> list[dict]:
    """The vectors, each with the model in force for it (None before the first model line)."""
    text = (VECTORS / "gt06.jsonl").read_text()
    rows, model = [], None
    for line in text.splitlines():
        row = json.loads(line)
        if row["kind"] == "model":
            model = row["model"]
        elif row["kind"] == "vector" and row["assert"] != "verifyFrame":
            rows.append({**row, "model": model})
    return rows


def _bad() -> set[str]:
    lines = (VECTORS / "gt06.txt").read_text().splitlines()
    return {lines[i + 1].strip() for i, line in enumerate(lines)
            if line.startswith("# verify") and "checksum=BAD" in line}


ROWS = _rows()
BAD = _bad()


def _protocol(payload: str) -> int:
    raw = bytes.fromhex(payload)
    return raw[4] if raw[:2] == b"\x79\x79" else raw[3]


def _locates(payload: str, model: str | None) -> bool:
    """A packet that carries a GPS block, for a terminal of ``model``."""
    proto = _protocol(payload)
    return (proto in LOCATION_PROTOCOLS or proto == Proto.X1_GPS
            or (payload.startswith("7979") and proto in AZ735_PROTOCOLS)
            or (proto == Proto.GPS_LBS_DRIVER and model in NT_MODELS))


def test_the_vectors_are_there():
    assert len(ROWS) == 187 and len(BAD) == 27


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["payload"][:24])
def test_vector(row):
    payload = row["payload"]
    stream = Gt06Stream(terminal="864000000000000", model=row["model"])  # as after a login
    records = stream.feed(bytes.fromhex(payload)) + stream.flush()
    if payload in BAD and stream.stats.rejected:
        assert records == []
        assert set(stream.stats.rejected) <= {Reject.BAD_CHECKSUM, Reject.NO_FRAME,
                                              Reject.TRUNCATED}
        return
    for prefix, (reason, _why) in DIFFERS.items():
        if payload.startswith(prefix):
            assert records == [] and stream.stats.rejected == {reason: 1}
            return
    assert stream.rejected == 0, stream.stats.rejected
    if _locates(payload, row["model"]):
        assert bool(records) == (row["assert"] in POSITIVE)
        for record in records:
            assert record.terminal == "864000000000000"
    elif _protocol(payload) in (0x13, 0x23):
        assert [type(r) for r in records] == [StatusReport]
    else:
        assert records == []
        assert stream.sentences >= 1  # one frame, or several in one payload


def test_bad_crcs_marked_in_the_capture_are_dropped():
    dropped = 0
    for payload in BAD:
        stream = Gt06Stream()
        assert stream.feed(bytes.fromhex(payload)) + stream.flush() == []
        if stream.stats.rejected.get(Reject.BAD_CHECKSUM):
            dropped += 1
    # the rest: frames whose length byte does not fit the bytes (no stop bytes where it says)
    assert dropped >= 10


def test_login_vectors_identify_the_terminal_and_are_answered():
    logins = [r["payload"] for r in ROWS
              if _protocol(r["payload"]) == 0x01 and r["payload"] not in BAD]
    assert len(logins) >= 4
    for payload in logins:
        stream = Gt06Stream()
        stream.feed(bytes.fromhex(payload))
        assert stream.terminal is not None and stream.terminal.isdigit()
        reply = stream.take_output()
        assert reply[:4] == b"\x78\x78\x05\x01" and reply[4:6] == bytes.fromhex(payload)[-6:-4]


def _only(payload: str, model: str | None = None, terminal: str | None = "864000000000000"):
    stream = Gt06Stream(terminal=terminal, model=model)
    records = stream.feed(bytes.fromhex(payload)) + stream.flush()
    assert stream.rejected == 0, stream.stats.rejected
    assert len(records) == 1
    return records[0], stream


def _vector(prefix: str) -> dict:
    return next(r for r in ROWS if r["payload"].startswith(prefix))


def test_nt20_report_with_the_imei_inside():
    row = _vector("78783c2201035778")
    fix, _ = _only(row["payload"], "NT20")
    assert isinstance(fix, Fix)
    assert fix.time == datetime(2024, 12, 6, 20, 32, 56, tzinfo=UTC)
    assert fix.lat == pytest.approx(-29.755007, abs=1e-6)
    assert fix.lon == pytest.approx(-57.085939, abs=1e-6)
    assert fix.status is not None
    assert fix.status.power_v == pytest.approx(24.36)
    assert fix.status.attributes["battery_v"] == pytest.approx(4.0)  # Traccar: battery 4.0
    # without the model the same bytes are not a position (the source byte is read as a year)
    stream = Gt06Stream(terminal="864000000000000")
    assert not [r for r in stream.feed(bytes.fromhex(row["payload"])) if isinstance(r, Fix)]


def test_xt40_reports_power_and_the_driver_card_report():
    power = next(r for r in ROWS if r["payload"].startswith("78783c220109999999")
                 and r.get("key") == "Position.KEY_POWER")
    raw = bytes.fromhex(power["payload"])
    assert power["payload"] in BAD  # its CRC is wrong (Traccar's test does not check it)
    fixed = build(raw[3], raw[4:-6], int.from_bytes(raw[-6:-4])).hex()
    record, _ = _only(fixed, "XT40")
    assert isinstance(record, NoFix)  # not positioned: Traccar gives an invalid position
    assert record.status is not None and record.status.power_v == pytest.approx(12.51)
    driver = _vector("78784e2501035635")
    fix, _ = _only(driver["payload"], "XT40")
    assert isinstance(fix, Fix) and fix.time == datetime(2025, 9, 9, 16, 14, 15, tzinfo=UTC)
    assert fix.status is not None and fix.status.power_v == pytest.approx(12.97)


def test_the_imei_inside_names_a_terminal_that_has_not_logged_in():
    row = _vector("78783c2201035778")
    fix, stream = _only(row["payload"], "NT20", terminal=None)
    assert fix.terminal == "357789648774484" == stream.terminal
    qh = _vector("7878271208667030")
    fix, stream = _only(qh["payload"], "qh302r", terminal=None)
    assert fix.terminal == "866703066502297"
    assert isinstance(fix, Fix) and fix.time == datetime(2026, 2, 12, 10, 30, 50, tzinfo=UTC)
    assert fix.speed_kn == pytest.approx(44 / 1.852)


def test_az735_extended_report_is_a_position_and_is_answered_long():
    row = _vector("7979004a32")
    raw = bytes.fromhex(row["payload"])
    fix, stream = _only(row["payload"])
    assert isinstance(fix, Fix)
    assert fix.time == datetime(2017, 6, 23, 12, 27, 24, tzinfo=UTC)
    assert stream.take_output() == build(0x32, b"", int.from_bytes(raw[-6:-4]), long=True)
    assert fix.status is not None and fix.status.signal == 36 and not fix.status.alarms
    # the 0x33 alarm report without a fix: the terminal armed, no alarm
    alarm = _vector("797900143311")
    record, _ = _only(alarm["payload"])
    assert isinstance(record, NoFix) and record.time == datetime(2017, 7, 6, 9, 2, 11, tzinfo=UTC)
    assert record.status is not None and record.status.attributes["armed"] is True


def test_az735_alarm_bytes():
    content = bytes.fromhex("11070609020b00000000a5030046")  # time, no fix, no cells: 0xA5
    [door] = Gt06Stream(terminal="864000000000000").feed(build(0x33, content, 9, long=True))
    assert door.status is not None and door.status.alarms == {Alarm.ILLEGAL_DOOR}
    # the same byte in a 0x32 report is a state, not an alarm; a tail cut short: no status
    [state] = Gt06Stream(terminal="864000000000000").feed(build(0x32, content, 9, long=True))
    assert state.status is not None and not state.status.alarms
    [short] = Gt06Stream(terminal="864000000000000").feed(build(0x33, content[:9], 9, long=True))
    assert isinstance(short, NoFix) and short.status is None


def test_x1():
    row = _vector("78783c3400000000130a")
    fix, _ = _only(row["payload"] + "0a")  # the stop byte the capture lost
    assert isinstance(fix, Fix)
    assert fix.time == datetime(2019, 10, 25, 6, 1, 17, tzinfo=UTC)


def test_a_model_named_by_the_registry_at_login_chooses_the_layout():
    asked = []

    def model_of(imei: str) -> str | None:
        asked.append(imei)
        return "nt20"

    stream = Gt06Stream(model_of=model_of)
    stream.feed(build(0x01, encode_login("357789648774484"), 1))
    assert asked == ["357789648774484"] and stream.model == "NT20"
    report = bytes.fromhex(_vector("78783c2201035778")["payload"])
    records = stream.feed(report)
    assert [type(r) for r in records] == [Fix] and stream.rejected == 0
