"""Capture replay: reading raw captures and Traccar vector files, pacing from sentence times
(on a manual clock, so pacing is exact and instantaneous), and delivery over real TCP."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.nmea import NmeaStream, encode
from devices.records import Fix
from simulators.clock import ManualClock
from simulators.errors import CaptureError
from simulators.replay import load_capture, replay
from simulators.transports import TcpTransport
from tests.simulators.nmea_server import NmeaServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "simulators"
T55 = FIXTURES / "t55.txt"  # Traccar's T55 vectors (Apache-2.0, attribution in the file)


class Recorder:
    """A link that keeps what it is given, with the clock time of each send."""

    def __init__(self, clock: ManualClock, fail_first: int = 0) -> None:
        self.clock = clock
        self.sent: list[tuple[float, bytes]] = []
        self.terminal_id = "REC"
        self._open = False
        self.fail_first = fail_first
        self.opens = 0

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def remote(self) -> str:
        return "memory"

    async def open(self) -> None:
        self._open = True
        self.opens += 1

    async def send(self, data: bytes) -> None:
        from simulators.errors import TransportError

        if self.fail_first:
            self.fail_first -= 1
            self._open = False
            raise TransportError("lost")
        self.sent.append((self.clock.elapsed(), data))

    async def close(self) -> None:
        self._open = False


def capture_file(tmp_path: Path, seconds: list[float], *, junk: bool = True) -> Path:
    lines = []
    for s in seconds:
        t = datetime(2026, 1, 1, tzinfo=UTC).replace(hour=int(s // 3600) % 24,
                                                     minute=int(s // 60) % 60,
                                                     second=int(s) % 60,
                                                     microsecond=int(round(s % 1, 2) * 1e6))
        fix = Fix(t, 48.1, 11.5, 1.0, 90.0, 500.0, 8, 1.0, 1)
        lines.append(encode.rmc(fix) + (b"$GPGSA,A,3,,,,,,,,,,,,,,1.0,*00\r\n" if junk else b"")
                     + encode.gga(fix))
        if junk:
            lines.append(b"\x00\xff noise\r\n")
    path = tmp_path / "capture.nmea"
    path.write_bytes(b"".join(lines))
    return path


def test_raw_captures_split_into_bursts_by_sentence_time(tmp_path: Path) -> None:
    cap = load_capture(capture_file(tmp_path, [10, 11, 11.5, 20]))
    assert cap.format == "raw"
    assert [b.time_ms for b in cap.bursts] == [10_000, 11_000, 11_500, 20_000]
    # RMC, GSA, GGA and the noise line after them travel together
    assert [b.lines for b in cap.bursts] == [4, 4, 4, 4]
    assert cap.duration() == 10.0
    assert cap.bytes == capture_file(tmp_path, [10, 11, 11.5, 20]).stat().st_size


@pytest.mark.parametrize(("speed", "waits"), [
    (1.0, [1.0, 0.5, 8.5]),
    (10.0, [0.1, 0.05, 0.85]),
    (math.inf, []),
])
async def test_pacing_follows_sentence_times(tmp_path: Path, speed: float,
                                             waits: list[float]) -> None:
    cap = load_capture(capture_file(tmp_path, [10, 11, 11.5, 20]))
    clock = ManualClock()
    link = Recorder(clock)
    stats = await replay(cap, link, clock=clock, speed=speed)
    assert clock.waits == pytest.approx(waits)
    assert b"".join(d for _, d in link.sent) == Path(cap.path).read_bytes()  # byte for byte
    assert stats.bursts == 4 and stats.lines == 16
    assert stats.elapsed == pytest.approx(sum(waits))


async def test_midnight_backwards_steps_and_long_gaps(tmp_path: Path) -> None:
    # 23:59:58, 23:59:59, 00:00:01 (midnight), 00:00:00 (a step back), then an hour's gap
    cap = load_capture(capture_file(tmp_path, [86398, 86399, 1, 0, 3600], junk=False))
    clock = ManualClock()
    await replay(cap, Recorder(clock), clock=clock, speed=1.0, max_gap=30)
    assert clock.waits == pytest.approx([1.0, 2.0, 30.0])
    assert cap.duration(max_gap=30) == 33.0


async def test_a_lost_link_is_reopened_and_the_burst_resent(tmp_path: Path) -> None:
    cap = load_capture(capture_file(tmp_path, [1, 2, 3]))
    clock = ManualClock()
    link = Recorder(clock, fail_first=2)
    stats = await replay(cap, link, clock=clock, speed=math.inf)
    assert stats.reconnects == 2 and link.opens == 3
    assert b"".join(d for _, d in link.sent) == Path(cap.path).read_bytes()


def test_traccar_vector_files_are_read_by_encoding() -> None:
    cap = load_capture(T55)
    assert cap.format == "traccar"
    assert cap.terminal_id == "359853000144328"  # from its $PGID vector
    text = b"".join(b.data for b in cap.bursts)
    assert b"$GNRMC,164414.90,A,4650.5156500,N,01246.1059604,E" in text
    assert b"\\r\\n" not in text  # escapes decoded
    assert cap.lines == 44


def test_unreadable_or_empty_captures_say_so(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read"):
        load_capture(tmp_path / "missing.nmea")
    (tmp_path / "empty.nmea").write_bytes(b"")
    with pytest.raises(CaptureError, match="nothing to replay"):
        load_capture(tmp_path / "empty.nmea")


async def test_a_capture_replays_over_tcp_byte_for_byte(tmp_path: Path) -> None:
    # a raw capture made of the real terminals' lines in Traccar's T55 vectors
    raw = b"".join(b.data for b in load_capture(T55).bursts)
    path = tmp_path / "t55.nmea"
    path.write_bytes(raw)
    cap = load_capture(path)
    server = await NmeaServer().start()
    try:
        link = TcpTransport("127.0.0.1", server.port, identify=False).link("T55")
        clock = ManualClock()
        await replay(cap, link, clock=clock, speed=1.0, max_gap=5)
        await link.close()
        await server.wait_for(lambda: server.sessions and server.sessions[0].closed)
    finally:
        await server.stop()
    session = server.sessions[0]
    assert bytes(session.data) == raw
    assert session.terminal == "359853000144328"
    direct = NmeaStream(eager=False)
    assert session.records == direct.feed(raw) + direct.flush()
    assert any(isinstance(r, Fix) for r in session.records)
    assert clock.waits and max(clock.waits) <= 5
