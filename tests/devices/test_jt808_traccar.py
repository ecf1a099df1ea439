"""Every JT/T 808 frame of Traccar's decoder tests, replayed (tests/fixtures/traccar).

A vector where Traccar finds a position must give a record here, one where it finds none must
give none, except the vectors listed in ``DIFFERS`` with the reason; those are held to what this
decoder does instead, so that a change in either direction is seen. Attribute assertions are
compared where fieldgate has the field; the rest come from makers' own additional items and
messages, which are kept raw (``item_xx`` attributes) rather than interpreted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.jt808 import Jt808Stream
from devices.records import Fix, NoFix
from devices.reject import Reject

VECTORS = Path(__file__).parents[1] / "fixtures" / "traccar"
POSITIVE = {"verifyPosition", "verifyPositions", "verifyAttribute", "verifyAttributes",
            "verifyNotNull"}

#: payload prefix → (what this decoder yields instead, why)
DIFFERS: dict[str, tuple[str, str]] = {
    # frames whose check code is wrong: Traccar does not check it, fieldgate drops them
    "7e0200008e01917159": ("bad_checksum", "check code wrong (0x7E inside the body unescaped)"),
    "7e02000070012040": ("bad_checksum", "check code wrong (0x7E inside the body unescaped)"),
    "7e0200007204546000": ("bad_checksum", "check code wrong (0x7E inside the body unescaped)"),
    "7e55019c3b": ("bad_checksum", "check code wrong"),
    # a maker's own header (reserved bit 15 set), not JT/T 808
    "7e55018c41": ("unsupported", "Jointech lock format: header with the reserved bit set"),
    "7e55028c37": ("unsupported", "Jointech lock format: header with the reserved bit set"),
    "7e5501043374": ("unsupported", "Jointech lock format: header with the reserved bit set"),
    "7e55028436": ("unsupported", "Jointech lock format: header with the reserved bit set"),
    "7e55010028": ("none", "Jointech 0x5501 lock status: not a JT/T 808 message"),
    # JT/T 808 messages, or makers' ones, that carry no location fieldgate stores
    "7e0702": ("none", "0x0702 driver identity (IC card): no location in it"),
    "7e0701": ("none", "0x0701 electronic waybill: no location in it"),
    "7e0900": ("none", "0x0900 transparent data: makers' payloads (OBD, BLE tags), not decoded"),
    "7e6006": ("none", "0x6006 maker's text reply: no location in it"),
    "7e2070": ("none", "0x2070 maker's accelerometer dump: no location in it"),
    "7e1300": ("none", "0x1300 maker's command reply: no location in it"),
    "7e0210": ("none", "0x0210 maker's message (Traccar: Huabao extension), not decoded"),
    "7e0107": ("none", "0x0107 terminal attributes: ICCID not kept as a position attribute"),
    "2837343031": ("no_frame", "Jointech text frame '(…)' on the JT/T 808 port"),
}

#: Traccar attribute keys fieldgate compares (others: maker items, kept raw)
COMPARED = {"Position.KEY_SATELLITES"}


def _vectors() -> list[dict]:
    text = (VECTORS / "jt808_huabao.jsonl").read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    return [r for r in rows if r["kind"] == "vector" and r["assert"] != "verifyFrame"]


def _differs(payload: str) -> tuple[str, str] | None:
    for prefix, outcome in DIFFERS.items():
        if payload.startswith(prefix):
            return outcome
    return None


def _bad() -> set[str]:
    """Payloads the capture marks ``checksum=BAD``: fieldgate drops them, Traccar does not."""
    lines = (VECTORS / "jt808_huabao.txt").read_text().splitlines()
    return {lines[i + 1].strip() for i, line in enumerate(lines)
            if line.startswith("# verify") and "checksum=BAD" in line}


VECTOR_ROWS = _vectors()
BAD = _bad()


def test_the_vectors_are_there():
    assert len(VECTOR_ROWS) >= 110


@pytest.mark.parametrize("row", VECTOR_ROWS, ids=lambda r: r["payload"][:24])
def test_vector(row):
    payload = row["payload"]
    data = bytes.fromhex(payload) if row["encoding"] == "hex" else payload.encode()
    stream = Jt808Stream()
    records = stream.feed(data) + stream.flush()
    if payload in BAD and Reject.BAD_CHECKSUM in stream.stats.rejected:
        assert not records  # see test_bad_checksums_marked_in_the_capture…
        return
    differs = _differs(payload) if row["encoding"] == "hex" else ("no_frame", "text")
    if differs is not None:
        outcome, _why = differs
        assert not records
        if outcome == "none":
            assert stream.rejected == 0, stream.stats.rejected
        else:
            assert Reject(outcome) in stream.stats.rejected, stream.stats.rejected
        return
    if row["assert"] in POSITIVE:
        assert records, (stream.stats.rejected, stream.stats.by_type)
        assert all(r.terminal for r in records)
    else:
        assert not records
        assert stream.rejected == 0, stream.stats.rejected
        # everything a terminal sends is answered (registration, authentication, heartbeat)
        assert stream.take_output().startswith(b"\x7e")
    if row["assert"] == "verifyAttribute" and row["key"] in COMPARED:
        fix = records[-1]
        assert isinstance(fix, Fix | NoFix)
        assert fix.sats == int(row["expected_value"])


def test_bad_checksums_marked_in_the_capture_are_dropped_and_counted():
    """The capture marks 11 frames BAD, judged with strict escapes. Three of them hold a 0x7D
    their sender did not escape: taken as sent (as Traccar does), their check code is right and
    they decode like any other frame (test_vector holds them to Traccar's outcome)."""
    assert len(BAD) == 11
    dropped = 0
    for payload in BAD:
        stream = Jt808Stream()
        records = stream.feed(bytes.fromhex(payload)) + stream.flush()
        if stream.stats.rejected.get(Reject.BAD_CHECKSUM):
            assert records == []
            dropped += 1
        else:
            assert "7d" in payload[2:-2], payload
    assert dropped == 8
