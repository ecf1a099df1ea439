"""JT/T 808 decode throughput in process, against the NMEA decoder on the same fixes.

The same N fixes are encoded twice: as JT/T 808 0x0200 location frames (with satellites and
mileage items, as terminals send them) and as NMEA RMC+GGA epochs. Each is decoded from 64 KiB
chunks by its stream, in this process, best of ``--repeat`` runs: ``Jt808Stream`` (with the
0x8001 reply it builds for every frame) and ``NmeaStream``, each with its C accelerator when
built (``FIELDGATE_JT808_PURE=1`` / ``FIELDGATE_NMEA_PURE=1`` force the pure-Python paths).
Prints frames/s and µs per frame for both and the ratio.

Usage: python -m bench jt808_decode [--frames N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

CHUNK = 64 * 1024


def build(frames: int) -> tuple[bytes, bytes]:
    from devices.nmea import encode
    from devices.records import Fix
    from simulators.jt808 import Jt808Device

    device = Jt808Device("13912345678")
    t0 = datetime(2026, 12, 6, tzinfo=UTC)
    jt808, nmea = [], []
    for i in range(frames):
        fix = Fix(t0 + timedelta(seconds=i), 31.2 + i * 1e-6, 121.5 - i * 1e-6, 20.0 + i % 7,
                  float(i % 360), 12.0, 9, 0.9, 1)
        jt808.append(device.location(time=fix.time, lat=fix.lat, lon=fix.lon,
                                     speed_kmh=(fix.speed_kn or 0.0) * 1.852,
                                     course=i % 360, alt_m=12, sats=9, mileage_km=i * 0.1))
        nmea.append(encode.epoch(fix))
    return b"".join(jt808), b"".join(nmea)


def _run(make_stream, data: bytes, repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        stream = make_stream()
        started = time.perf_counter()
        count = 0
        for i in range(0, len(data), CHUNK):
            count += len(stream.feed(data[i:i + CHUNK]))
            stream.take_output()
        count += len(stream.flush())
        best = min(best, time.perf_counter() - started)
    return best, count


def main(argv: list[str]) -> int:
    from devices.jt808 import Jt808Stream
    from devices.jt808.accel import ACCELERATED as JT808_ACCELERATED
    from devices.nmea import NmeaStream
    from devices.nmea.accel import ACCELERATED

    parser = argparse.ArgumentParser(prog="python -m bench jt808_decode",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    jt808, nmea = build(args.frames)
    j_s, j_n = _run(Jt808Stream, jt808, args.repeat)
    n_s, n_n = _run(lambda: NmeaStream(eager=True), nmea, args.repeat)
    assert j_n == n_n == args.frames, (j_n, n_n)
    print(f"jt808_decode: {args.frames:,} fixes, best of {args.repeat}")
    print(f"  JT/T 808 ({'C accelerator' if JT808_ACCELERATED else 'pure Python'}, replies "
          f"built): {j_n / j_s:10,.0f} frames/s "
          f"{1e6 * j_s / j_n:6.2f} µs per frame")
    print(f"  NMEA RMC+GGA ({'C accelerator' if ACCELERATED else 'pure Python'}): "
          f"{n_n / n_s:10,.0f} fixes/s {1e6 * n_s / n_n:6.2f} µs per fix")
    print(f"  ratio JT/T 808 / NMEA: {(j_n / j_s) / (n_n / n_s):.2f}")
    return 0
