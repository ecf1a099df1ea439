"""NMEA decode throughput: fieldgate (C and pure paths, CLI) vs gpsdecode and pure pynmea2.

One capture is built (N epochs of a tracker's RMC+GGA, or a u-blox full cycle with --cycle
ublox), written to a file, and decoded in the same run by:

- ``NmeaStream`` in-process, 64 KiB chunks, C accelerator (when built) and pure Python;
- a pure-pynmea2 epoch decoder (parse every line, read the same fields, merge by time);
- ``fieldgate decode FILE`` and ``gpsdecode -j < FILE`` (Debian gpsd-clients) as processes,
  both writing JSON to a pipe that is drained and counted.

Prints sentences/s and fixes/s for each, and the ratios that matter. Needs ``gpsdecode`` on
PATH (``apt-get install gpsd-clients``); without it that row is skipped and said so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

CHUNK = 64 * 1024


def build_capture(epochs: int, cycle: str) -> bytes:
    from devices.nmea import encode
    from devices.nmea.checksum import with_checksum
    from devices.records import Fix

    t0 = datetime(2026, 11, 29, tzinfo=UTC)
    parts = []
    gsv = (with_checksum(b"GPGSV,2,1,06,05,40,083,31,13,57,290,33,15,31,204,28,20,12,040,22")
           + b"\r\n" + with_checksum(b"GPGSV,2,2,06,24,66,130,35,29,05,330,18") + b"\r\n")
    for i in range(epochs):
        fix = Fix(t0 + timedelta(seconds=i), 48.1 + i * 1e-6, 11.5 - i * 1e-6, 30.0 + i % 7,
                  float(i % 360), 500.0, 9, 0.9, 1)
        if cycle == "tracker":
            parts.append(encode.epoch(fix))
        else:
            parts += [encode.rmc(fix), encode.vtg(fix), encode.gga(fix),
                      encode.gsa(3, hdop=0.9, prns=(5, 13, 15, 20, 24, 29)), gsv]
    return b"".join(parts)


def run_stream(data: bytes, *, pure: bool) -> tuple[float, int, int]:
    from devices.nmea import NmeaStream, accel
    from devices.records import Fix

    stream = NmeaStream(eager=True)
    if pure:  # the same stream with the reference sentence decoder and plain Fix()
        stream._parse = accel.pure_parse_body
        stream._make_fix = Fix
    fixes = 0
    start = time.perf_counter()
    for i in range(0, len(data), CHUNK):
        fixes += len(stream.feed(data[i : i + CHUNK]))
    fixes += len(stream.flush())
    return time.perf_counter() - start, stream.sentences + stream.rejected, fixes


def run_pynmea2(data: bytes) -> tuple[float, int, int]:
    """Every sentence through pynmea2, the same fields read, epochs merged by timestamp."""
    import pynmea2

    sentences = fixes = 0
    current = None
    epoch: dict = {}
    date = None
    start = time.perf_counter()
    for line in data.decode("ascii", "replace").splitlines():
        try:
            msg = pynmea2.parse(line)
        except pynmea2.ParseError:
            continue
        sentences += 1
        stamp = getattr(msg, "timestamp", None)
        if stamp is not None and stamp != current:
            if epoch.get("valid") and date is not None:
                fixes += 1
            current, epoch = stamp, {}
        kind = msg.sentence_type
        if kind == "RMC":
            date = msg.datestamp
            epoch.update(valid=msg.is_valid, lat=msg.latitude, lon=msg.longitude,
                         speed=msg.spd_over_grnd, course=msg.true_course)
        elif kind == "GGA":
            epoch.update(quality=msg.gps_qual, sats=msg.num_sats, hdop=msg.horizontal_dil,
                         alt=msg.altitude)
            epoch.setdefault("valid", msg.is_valid)
            epoch.setdefault("lat", msg.latitude)
        elif kind == "GSA":
            epoch.update(mode=msg.mode_fix_type)
        elif kind == "VTG":
            epoch.setdefault("course", msg.true_track)
    if epoch.get("valid") and date is not None:
        fixes += 1
    return time.perf_counter() - start, sentences, fixes


def run_process(cmd: list[str], path: Path, *, stdin: bool, env: dict | None = None
                ) -> tuple[float, int]:
    start = time.perf_counter()
    with open(path, "rb") as source:
        proc = subprocess.run(cmd, stdin=source if stdin else subprocess.DEVNULL,
                              capture_output=True, env=env, check=True)
    elapsed = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    if cmd[0].endswith("gpsdecode"):
        return elapsed, sum(1 for ln in lines if b'"TPV"' in ln and b'"lat"' in ln)
    return elapsed, len(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench decode", description=__doc__)
    parser.add_argument("--epochs", type=int, default=100_000)
    parser.add_argument("--cycle", choices=["tracker", "ublox"], default="tracker",
                        help="tracker: RMC+GGA per epoch; ublox: RMC VTG GGA GSA GSV GSV")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for in-process runs")
    args = parser.parse_args(argv)

    from devices.nmea import accel

    data = build_capture(args.epochs, args.cycle)
    nsent = data.count(b"\n")
    print(f"capture: {args.epochs} epochs ({args.cycle}), {nsent} sentences, "
          f"{len(data) / 1e6:.1f} MB; C accelerator built: {accel.ACCELERATED}")
    rows: dict[str, tuple[float, int, int]] = {}

    def best(fn, *a, **kw):
        return min((fn(*a, **kw) for _ in range(args.repeat)), key=lambda r: r[0])

    if accel.ACCELERATED:
        rows["fieldgate NmeaStream (C)"] = best(run_stream, data, pure=False)
    rows["fieldgate NmeaStream (pure)"] = best(run_stream, data, pure=True)
    rows["pynmea2 per sentence"] = run_pynmea2(data)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.nmea"
        path.write_bytes(data)
        cli = [sys.executable, "-m", "fieldgate", "decode", str(path)]
        elapsed, fixes = run_process(cli, path, stdin=False)
        rows["fieldgate decode (process)"] = (elapsed, nsent, fixes)
        pure_env = dict(os.environ, FIELDGATE_NMEA_PURE="1")
        elapsed, fixes = run_process(cli, path, stdin=False, env=pure_env)
        rows["fieldgate decode (process, pure)"] = (elapsed, nsent, fixes)
        gpsdecode = shutil.which("gpsdecode")
        if gpsdecode:
            elapsed, fixes = run_process([gpsdecode, "-j"], path, stdin=True)
            rows["gpsdecode -j (process)"] = (elapsed, nsent, fixes)
        else:
            print("gpsdecode not found (apt-get install gpsd-clients): baseline skipped")

    print(f"\n{'decoder':36} {'seconds':>8} {'sentences/s':>12} {'fixes/s':>10} {'us/fix':>7}")
    for name, (elapsed, sentences, fixes) in rows.items():
        print(f"{name:36} {elapsed:8.3f} {sentences / elapsed:12,.0f} {fixes / elapsed:10,.0f} "
              f"{elapsed / max(fixes, 1) * 1e6:7.2f}")

    def ratio(a: str, b: str) -> None:
        if a in rows and b in rows:
            print(f"  {a} / {b}: {rows[b][0] / rows[a][0]:.2f}x the speed")

    print("\nratios (sentences per second):")
    ratio("fieldgate decode (process)", "gpsdecode -j (process)")
    ratio("fieldgate decode (process, pure)", "gpsdecode -j (process)")
    ratio("fieldgate NmeaStream (C)", "pynmea2 per sentence")
    ratio("fieldgate NmeaStream (pure)", "pynmea2 per sentence")
    ratio("fieldgate NmeaStream (C)", "fieldgate NmeaStream (pure)")
    return 0
