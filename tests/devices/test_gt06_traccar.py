"""Every GT06 frame of Traccar's decoder tests, replayed (tests/fixtures/traccar/gt06.*).

Traccar turns nearly every GT06 message into a "position": status, heartbeat, information,
LBS, Wi-Fi and command-reply messages get the terminal's last known location. fieldgate makes
positions of GNSS reports only (the packets that carry a GPS block), and status reports of
status packets. So:

- a packet with a GPS block must give a record where Traccar gives a position, and none where
  it gives none, except the listed model variants and the frames with a wrong CRC;
- status and heartbeat packets give one status report each (no position);
- any other packet gives no record and no rejection (counted by its protocol number), except
  the listed damaged ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.gt06 import Gt06Stream
from devices.gt06.messages import LOCATION_PROTOCOLS
from devices.records import StatusReport
from devices.reject import Reject

VECTORS = Path(__file__).parents[1] / "fixtures" / "traccar"
POSITIVE = {"verifyPosition", "verifyPositions", "verifyAttribute", "verifyAttributes",
            "verifyNotNull"}

#: payload prefix → (reject reason fieldgate counts, why it differs from Traccar)
DIFFERS: dict[str, tuple[Reject, str]] = {
    "787805120099abec": (Reject.TRUNCATED, "a 0x12 with no content: nothing to decode"),
    "78780ca346": (Reject.TRUNCATED, "0xA3 fence report shorter than a GPS block"),
    "78783c3400000000130a": (Reject.TRUNCATED, "X1 0x34: data word before the GPS block"),
    "7979004a32": (Reject.MALFORMED, "AZ735 0x32 extended layout (length byte before GPS)"),
    "78783c2201035778": (Reject.MALFORMED, "NT20/XT40 0x22 variant with the IMEI inside"),
    "7878271208667030": (Reject.MALFORMED, "QH302R 0x12 variant with the IMEI inside"),
}


def _rows() -> list[dict]:
    text = (VECTORS / "gt06.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    return [r for r in rows if r["kind"] == "vector" and r["assert"] != "verifyFrame"]


def _bad() -> set[str]:
    lines = (VECTORS / "gt06.txt").read_text().splitlines()
    return {lines[i + 1].strip() for i, line in enumerate(lines)
            if line.startswith("# verify") and "checksum=BAD" in line}


ROWS = _rows()
BAD = _bad()


def _protocol(payload: str) -> int:
    raw = bytes.fromhex(payload)
    return raw[4] if raw[:2] == b"\x79\x79" else raw[3]


def test_the_vectors_are_there():
    assert len(ROWS) == 187 and len(BAD) == 27


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["payload"][:24])
def test_vector(row):
    payload = row["payload"]
    stream = Gt06Stream(terminal="864000000000000")  # as after a login
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
    if _protocol(payload) in LOCATION_PROTOCOLS:
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
