"""``fieldgate decode``: in-process and as a real subprocess (files, stdin, a live pipe)."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.nmea import DecodeStats, encode
from devices.records import Fix
from fieldgate.cli import main
from fieldgate.cli.decode import decode_reader

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nmea"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _epochs(n: int, start: int = 0) -> bytes:
    return b"".join(
        encode.epoch(Fix(T0 + timedelta(seconds=i), 45.0 + i * 1e-4, 7.5, 10.0, 90.0, 200.0, 7,
                         1.1, 1)) + encode.gsa(3, hdop=1.1)
        for i in range(start, start + n))


def test_files_give_one_json_line_per_fix_and_counts_on_stderr(capsys) -> None:
    status = main(["decode", str(FIXTURES / "ublox_m8_cold_start.nmea"),
                   str(FIXTURES / "noisy_serial.nmea")])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert len(lines) == 6
    assert lines[0] == {"time": "2026-11-29T23:59:58Z", "lat": 48.117302, "lon": 11.51667433,
                        "speed_kn": 0.012, "alt_m": 545.4, "sats": 5, "hdop": 2.1,
                        "fix_quality": 1, "mode": 3}
    assert lines[-1]["terminal"] == "866104023179743"
    assert "39 sentences read" in err
    assert "6 rejected (no_sentence 4, bad_checksum 1, malformed 1)" in err
    assert "6 fixes; 2 epochs without fix" in err


def test_unreadable_files_fail_with_a_clear_message_after_the_readable_ones(
        capsys, tmp_path: Path) -> None:
    status = main(["decode", str(tmp_path / "missing.nmea"), str(tmp_path),
                   str(FIXTURES / "other_talkers.nmea")])
    out, err = capsys.readouterr()
    assert status == 1
    assert len(out.splitlines()) == 4
    assert f"cannot read {tmp_path / 'missing.nmea'}: No such file or directory" in err
    assert f"cannot read {tmp_path}: Is a directory" in err


def test_empty_and_garbage_files_exit_zero(capsys, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    noise = tmp_path / "noise"
    noise.write_bytes(bytes(range(256)) * 300)
    assert main(["decode", str(empty), str(noise)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "0 fixes" in err


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=5000), st.booleans())
def test_decode_reader_takes_any_bytes(data: bytes, eager: bool) -> None:
    emitted = []
    decode_reader(io.BytesIO(data), emitted.extend, stats=DecodeStats(), eager=eager)
    for record in emitted:
        json.dumps(record.as_json() if isinstance(record, Fix) else None, allow_nan=False)


def test_large_capture_is_read_in_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big.nmea"
    big.write_bytes(_epochs(3000))  # ~0.6 MB: ten chunks
    reads = []

    class Counting(io.FileIO):
        def read1(self, size: int = -1) -> bytes:
            data = self.read(size)
            reads.append(len(data))
            return data

    emitted = []
    with Counting(big, "r") as reader:
        decode_reader(reader, emitted.extend, stats=DecodeStats())
    assert len(emitted) == 3000
    assert max(reads) <= 64 * 1024 and len(reads) > 5


def _fieldgate(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fieldgate", "decode", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_subprocess_reads_stdin() -> None:
    proc = _fieldgate("-", stdin=subprocess.PIPE)
    out, err = proc.communicate(b"\x00junk\r\n" + _epochs(5), timeout=30)
    assert proc.returncode == 0
    assert [json.loads(line)["time"] for line in out.splitlines()] == [
        f"2026-03-01T08:00:0{i}Z" for i in range(5)]
    assert b"1 rejected (no_sentence 1)" in err


def test_subprocess_streams_a_live_pipe_without_waiting_for_eof() -> None:
    """What ``tail -f capture | fieldgate decode -`` needs: fixes appear while stdin is open."""
    proc = _fieldgate("-", "--eager", stdin=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(_epochs(4))
        proc.stdin.flush()
        got = b""
        deadline = time.monotonic() + 20
        while got.count(b"\n") < 3 and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                got += os.read(proc.stdout.fileno(), 65536)
        assert got.count(b"\n") >= 3, got  # epochs 0-2 closed by the learnt cycle end
        assert proc.poll() is None  # still running: nothing waited for end of input
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0


@settings(max_examples=300, deadline=None)
@given(st.builds(
    Fix,
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1),
                 timezones=st.just(UTC)),
    st.floats(-90, 90), st.floats(-180, 180),
    st.none() | st.floats(0, 1e4), st.none() | st.floats(0, 360), st.none() | st.floats(-1e4, 1e5),
    st.none() | st.integers(0, 255), st.none() | st.floats(0, 100), st.none() | st.integers(0, 9),
    st.none() | st.integers(1, 3), st.none() | st.text("abc019", min_size=1, max_size=20)))
def test_fast_json_line_is_json_dumps_of_as_json(fix: Fix) -> None:
    from fieldgate.cli.decode import json_line

    fix = Fix(fix.time.replace(microsecond=fix.time.microsecond // 1000 * 1000), *(
        getattr(fix, f) for f in ("lat", "lon", "speed_kn", "course", "alt_m", "sats", "hdop",
                                  "fix_quality", "mode", "terminal")))
    assert json_line(fix) == json.dumps(fix.as_json())


def test_jt808_captures_in_hex_and_binary(capsys, tmp_path: Path) -> None:
    from devices.jt808 import MsgId, build
    from devices.jt808.messages import encode_location
    from devices.status import Alarm

    when = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    frame = build(MsgId.LOCATION, "13912345678", 1, encode_location(
        time=when, lat=31.5, lon=121.25, speed_kmh=18.5, alarms=frozenset({Alarm.POWER_CUT}),
        items={0x31: b"\x08"}))
    hexfile = tmp_path / "capture.hex"
    hexfile.write_text(f"# one heartbeat, one location\n{build(MsgId.HEARTBEAT, '1', 0).hex()}\n"
                       f"{frame.hex(' ')}\nnot hex\n")
    binfile = tmp_path / "capture.bin"
    binfile.write_bytes(b"noise" + frame)
    assert main(["decode", "--protocol", "jt808", "--hex", str(hexfile)]) == 0
    out, err = capsys.readouterr()
    [line] = [json.loads(x) for x in out.splitlines()]
    assert line == {"time": "2026-12-06T08:00:00Z", "lat": 31.5, "lon": 121.25,
                    "speed_kn": 18.5 / 1.852, "course": 0.0, "alt_m": 0.0, "sats": 8,
                    "terminal": "13912345678",
                    "status": {"alarms": ["power_cut"], "acc": True}}
    assert "2 messages read (heartbeat 1, location 1); 1 rejected (no_frame 1)" in err
    assert main(["decode", "--protocol", "jt808", str(binfile)]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(x) for x in out.splitlines()] == [line]
    assert "1 rejected (no_frame 1)" in err
    assert main(["decode", "--hex", str(hexfile)]) == 2
    assert "--hex is for binary protocols" in capsys.readouterr().err


def test_gt06_capture_in_hex(capsys, tmp_path: Path) -> None:
    from simulators.gt06 import Gt06Device

    device = Gt06Device("868120300000001")
    when = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    capture = tmp_path / "gt06.hex"
    capture.write_text("\n".join(p.hex() for p in (
        device.login(), device.location(time=when, lat=22.5, lon=114.0, sats=9))) + "\n")
    assert main(["decode", "--protocol", "gt06", "--hex", str(capture)]) == 0
    out, err = capsys.readouterr()
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (line["time"], line["lat"], line["lon"], line["sats"], line["terminal"]) == (
        "2026-12-06T08:00:00Z", 22.5, 114.0, 9, "868120300000001")
    assert "2 messages read" in err


def test_gt06_capture_of_a_model_with_its_own_layout(capsys, tmp_path: Path) -> None:
    # an NT20's 0x22 report (Traccar's capture): its IMEI and time lead the GPS block
    capture = tmp_path / "nt20.hex"
    capture.write_text("# NT20\n78783c22010357789648774484180c06142038180c06142038cb03313ee406"
                       "1fe98300185e090000000000000000460984284c000200000000017101d6f35d0d0a\n")
    assert main(["decode", "--protocol", "gt06", "--hex", "--model", "nt20", str(capture)]) == 0
    out, _ = capsys.readouterr()
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (line["time"], line["terminal"], line["sats"]) == (
        "2024-12-06T20:32:56Z", "357789648774484", 11)
    assert line["status"]["power_v"] == 24.36
    assert main(["decode", "--protocol", "gt06", "--hex", str(capture)]) == 0
    assert capsys.readouterr().out == ""  # without the model: no position
    assert main(["decode", "--protocol", "jt808", "--model", "NT20", str(capture)]) == 2
    assert "--model is for GT06" in capsys.readouterr().err
