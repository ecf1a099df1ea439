"""``fieldgate simulate``: a fleet of virtual terminals, a capture replay, or a load run.

Examples::

    fieldgate simulate --tcp 127.0.0.1:5000 --terminals 20 --rate 1 --duration 2m \\
        --fault 'no_fix@30s+60s' --fault 'SIM0003/silent:drop@1m+30s'
    fieldgate simulate --mqtt mqtt://127.0.0.1:1883 --terminals 5 --qos 1
    fieldgate simulate --serial-pty /tmp/fg-pty --terminals 2     # then: gateway --serial ...
    fieldgate simulate --tcp :5000 --replay capture.nmea --replay-speed 10
    fieldgate simulate --tcp :5000 --load --terminals 50 --fixes 20000 --load-rate 20000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldgate.cli import CLIError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="virtual terminals over TCP, MQTT or serial ptys, with faults; replay; load",
        description="Drive simulated GPS terminals (or replay a capture) into a gateway. "
        "Fault specs: [TARGET/]KIND[:ARGS][@START[+DURATION]], e.g. no_fix@30s+60s; "
        "see docs/simulators.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT", help="gateway TCP listener ($PGID + NMEA)")
    where.add_argument("--jt808", metavar="HOST:PORT",
                       help="gateway JT/T 808 listener: terminals register, report locations "
                            "with alarm words and answer commands (ids: phone numbers, default "
                            "prefix 1390000)")
    where.add_argument("--gt06", metavar="HOST:PORT",
                       help="gateway GT06 listener (ids: IMEIs, default prefix 86412030000)")
    where.add_argument("--mqtt", metavar="URL", help="broker, mqtt://HOST[:PORT]")
    where.add_argument("--serial-pty", metavar="DIR", nargs="?", const="",
                       help="one pseudo-terminal per terminal, linked as DIR/<id> "
                            "(a temporary directory when DIR is omitted)")
    fleet = p.add_argument_group("fleet")
    fleet.add_argument("--terminals", type=int, default=1, metavar="N")
    rate = fleet.add_mutually_exclusive_group()
    rate.add_argument("--rate", type=float, metavar="HZ",
                      help="reports per second per terminal (default 1)")
    rate.add_argument("--interval", metavar="TIME", help="time between reports (e.g. 10s)")
    fleet.add_argument("--duration", metavar="TIME", help="how long to run (default: until ^C)")
    fleet.add_argument("--seed", type=int, default=0)
    fleet.add_argument("--id-prefix", default=None, metavar="P",
                       help="terminal ids are P0001, P0002... (default SIM; digits for "
                            "--jt808 and --gt06)")
    fleet.add_argument("--fault", action="append", default=[], metavar="SPEC",
                       help="a fault to inject (repeatable), e.g. 'checksum:0.2@10s+30s'")
    fleet.add_argument("--profile", default="rmc,gga", metavar="LIST",
                       help="sentences per epoch: rmc,gga,gsa,vtg,zda,gsv (default rmc,gga)")
    fleet.add_argument("--talker", default="GP", help="GP, GN, GL, BD, GB or GA")
    fleet.add_argument("--center", metavar="LAT,LON", help="city centre (default Berlin)")
    fleet.add_argument("--radius", type=float, metavar="KM", help="driving radius in km")
    fleet.add_argument("--speedup", type=float, metavar="X",
                       help="simulated time runs X times faster than real time (fix times "
                            "then run ahead of the wall clock)")
    fleet.add_argument("--no-stagger", action="store_true",
                       help="all terminals report at the same instant")
    fleet.add_argument("--truth", metavar="FILE",
                       help="write one JSON line per sent epoch (ground truth)")
    fleet.add_argument("--qos", type=int, choices=(0, 1), default=0, help="MQTT QoS")
    fleet.add_argument("--start-delay", metavar="TIME", default="0",
                       help="wait before sending (time for a reader to open serial ports)")
    fleet.add_argument("--progress", metavar="TIME", default="5s",
                       help="progress line interval on stderr (0: none)")
    fleet.add_argument("--json", action="store_true", help="final summary as JSON")
    rep = p.add_argument_group("replay")
    rep.add_argument("--replay", metavar="FILE", help="replay a raw NMEA capture or a Traccar "
                                                      "vector file instead of simulating")
    rep.add_argument("--replay-speed", default="1", metavar="X",
                     help="1 = original pace, 10 = ten times faster, max = no waiting")
    rep.add_argument("--max-gap", default="60s", metavar="TIME",
                     help="cap on a pause between sentences when replaying (default 60s)")
    load = p.add_argument_group("load (benchmarks)")
    load.add_argument("--load", action="store_true",
                      help="pre-encode and send flat out (or at --load-rate), report the rate")
    load.add_argument("--fixes", type=int, default=10_000, metavar="K",
                      help="fixes per terminal in load mode (default 10000)")
    load.add_argument("--load-rate", type=float, metavar="FIXES_PER_S",
                      help="overall target rate (default: as fast as possible)")
    load.add_argument("--wait-consumed", default="60s", metavar="TIME",
                      help="TCP: half-close after sending and wait this long for the receiver "
                           "to close, to time how fast it read everything (0: do not wait)")
    load.add_argument("--connections", type=int, default=4, metavar="M",
                      help="MQTT clients in load mode (TCP: one per terminal)")
    load.add_argument("--epochs-per-message", type=int, default=10, metavar="E",
                      help="epochs per MQTT message in load mode")
    p.set_defaults(func=_main)


#: default id prefixes: binary protocols identify by phone number or IMEI (digits)
_PREFIXES = {"jt808": "1390000", "gt06": "86412030000"}


def _main(args: argparse.Namespace) -> int:
    from simulators.errors import SimulatorError

    binary = "jt808" if args.jt808 else "gt06" if args.gt06 else None
    if args.id_prefix is None:
        args.id_prefix = _PREFIXES.get(binary or "", "SIM")
    if binary and (args.load or args.replay):
        raise CLIError(f"--load and --replay speak NMEA; with --{binary} simulate a fleet")
    try:
        if args.load:
            return asyncio.run(_load(args))
        if args.replay:
            return asyncio.run(_replay(args))
        return asyncio.run(_fleet(args))
    except SimulatorError as exc:
        raise CLIError(str(exc)) from exc


# -- option parsing ------------------------------------------------------------------------

def _time(text: str, what: str) -> float:
    from simulators.faults import parse_duration

    value = parse_duration(text)
    if value < 0:
        raise CLIError(f"{what} must not be negative")
    return value


def _interval(args: argparse.Namespace) -> float:
    from simulators.errors import SpecError

    if args.interval is not None:
        value = _time(args.interval, "--interval")
    elif args.rate is not None:
        if not args.rate > 0 or math.isinf(args.rate):
            raise SpecError(f"--rate {args.rate} must be a positive number of reports/s")
        value = 1.0 / args.rate
    else:
        value = 1.0
    cs = round(value * 100)
    if cs < 1 or abs(value * 100 - cs) > 1e-6:
        raise SpecError(f"a report interval of {value:g} s is not a multiple of 10 ms (NMEA "
                        "times are centiseconds): choose e.g. --rate 1, 2, 4, 5, 10, 0.1")
    return cs / 100


def _transport(args: argparse.Namespace) -> Any:
    from simulators.transports import (
        MqttTransport,
        PtyTransport,
        TcpTransport,
        parse_host_port,
        parse_mqtt_url,
    )

    if args.tcp:
        return TcpTransport(*parse_host_port(args.tcp))
    if args.jt808 or args.gt06:
        protocol = "jt808" if args.jt808 else "gt06"
        return TcpTransport(*parse_host_port(args.jt808 or args.gt06), protocol=protocol)
    if args.mqtt:
        return MqttTransport(*parse_mqtt_url(args.mqtt), qos=args.qos)
    return PtyTransport(args.serial_pty or None)


def _route(args: argparse.Namespace) -> Any:
    from simulators.errors import SpecError
    from simulators.route import RouteConfig

    kwargs: dict[str, Any] = {}
    if args.center:
        try:
            lat, lon = (float(x) for x in args.center.split(","))
        except ValueError:
            raise SpecError(f"--center {args.center!r}: expected LAT,LON") from None
        kwargs["center"] = (lat, lon)
    if args.radius is not None:
        if not 0 < args.radius < math.inf:  # refuses nan too
            raise SpecError(f"--radius {args.radius}: expected a positive number of km")
        kwargs["radius_m"] = args.radius * 1000
        kwargs["leg_m"] = (min(300.0, args.radius * 200), min(2500.0, args.radius * 500))
    try:
        return RouteConfig(**kwargs)
    except ValueError as exc:
        raise SpecError(f"bad route: {exc}") from None


def _clock(args: argparse.Namespace) -> Any:
    from simulators.clock import RealClock, ScaledClock

    if args.speedup is None:
        return RealClock()
    if not args.speedup > 0:
        raise CLIError("--speedup must be positive")
    return ScaledClock(speed=args.speedup, start=datetime.now(UTC).replace(microsecond=0))


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def _progress_line(stats: Any, elapsed: float) -> None:
    s = stats
    print(f"[{elapsed:8.1f}s] reports {s.sent_reports:,} sent / {s.reports:,} due "
          f"({s.sentences:,} sentences, {s.bytes / 1e3:,.0f} kB), fixes {s.fixes:,}, "
          f"no-fix {s.no_fixes:,}, silent {s.silent:,}, lost {s.lost:,} | connected "
          f"{s.connected}/{s.terminals}, reconnects {s.reconnects:,}, connect failures "
          f"{s.connect_failures:,} | faults active {s.faults_active}", file=sys.stderr,
          flush=True)


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
        return
    for key, value in summary.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        elif isinstance(value, list):
            print(f"{key}:")
            for v in value:
                print(f"  {v}")
        else:
            print(f"{key}: {value}")


def _cannot_write_truth(path: str, exc: OSError) -> str:
    return f"cannot write --truth {path}: {exc.strerror or exc}"


# -- the three modes -----------------------------------------------------------------------

async def _fleet(args: argparse.Namespace) -> int:
    from simulators.faults import parse_fault
    from simulators.fleet import Fleet
    from simulators.sentences import SentenceProfile
    from simulators.transports import PtyTransport
    from simulators.truth import TruthFile

    faults = [parse_fault(spec) for spec in args.fault]
    profile = SentenceProfile.parse(args.profile, talker=args.talker)
    interval = _interval(args)
    duration = _time(args.duration, "--duration") if args.duration else None
    if duration == 0:
        raise CLIError("--duration must be positive")
    progress_every = _time(args.progress, "--progress")
    delay = _time(args.start_delay, "--start-delay")
    transport = _transport(args)
    try:
        truth = TruthFile(args.truth) if args.truth else None
    except OSError as exc:
        raise CLIError(_cannot_write_truth(args.truth, exc)) from None
    fleet = Fleet(transport=transport, terminals=args.terminals, interval=interval,
                  seed=args.seed, id_prefix=args.id_prefix, faults=faults, profile=profile,
                  route=_route(args), clock=None, duration=duration,
                  stagger=not args.no_stagger, truth=truth,
                  progress=_progress_line if progress_every > 0 else None,
                  progress_every=progress_every or 5.0)
    stop = _stop_on_signals()
    if delay:
        await asyncio.sleep(delay)
    fleet.clock = _clock(args)  # after the start delay, so that tick 0 is now
    started = time.monotonic()
    interrupted = False
    try:
        async with fleet:
            print(f"simulating {args.terminals} terminal(s) {fleet.ids[0]}..{fleet.ids[-1]} "
                  f"every {interval:g} s to {transport.describe()}"
                  + (f" for {duration:g} s" if duration else " until interrupted"),
                  file=sys.stderr)
            for fault in faults:
                print(f"  fault {fault}", file=sys.stderr)
            if isinstance(transport, PtyTransport):
                print(f"serial ports in {transport.directory} (each appears at its first "
                      "report); bind them in the gateway with:", file=sys.stderr)
                for tid in fleet.ids:
                    print(f"  --serial {transport.path_for(tid)}={tid}", file=sys.stderr)
            waiter = asyncio.ensure_future(fleet.wait() if duration else asyncio.Event().wait())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            interrupted = stopper in done
            for task in (waiter, stopper):
                task.cancel()
            await asyncio.gather(waiter, stopper, return_exceptions=True)
            failure = waiter.exception() if waiter in done else None
            if failure is not None:
                raise failure
    finally:
        if truth is not None:
            truth.close()
    stats = fleet.snapshot()
    summary: dict[str, Any] = {
        "transport": transport.describe(),
        "terminals": args.terminals,
        "interval_s": interval,
        "ran_s": round(time.monotonic() - started, 3),
        "interrupted": interrupted,
        "faults": [str(f) for f in faults],
        "stats": stats,
    }
    if truth is not None:
        summary["truth"] = f"{truth.count} epochs in {truth.path}"
    _print_summary(summary, args.json)
    if stats["connects"] == 0:
        print(f"fieldgate simulate: no terminal could connect to {transport.describe()}",
              file=sys.stderr)
        return 1
    return 0


async def _replay(args: argparse.Namespace) -> int:
    from simulators.clock import RealClock
    from simulators.fleet import terminal_ids
    from simulators.replay import load_capture, replay

    capture = load_capture(args.replay)
    speed_text = args.replay_speed.strip().lower()
    if speed_text not in ("max", "inf"):
        speed_text = speed_text.strip("x")  # "x10" and "10x" mean 10
    if speed_text in ("max", "inf", "0"):
        speed = math.inf
    else:
        try:
            speed = float(speed_text)
        except ValueError:
            raise CLIError(f"--replay-speed {args.replay_speed!r}: expected a factor or max"
                           ) from None
        if not speed > 0:
            raise CLIError("--replay-speed must be positive (or max)")
    max_gap = _time(args.max_gap, "--max-gap")
    if capture.terminal_id and args.terminals > 1:
        raise CLIError(f"{args.replay} identifies itself as {capture.terminal_id} ($PGID): "
                       "it can be replayed as one terminal only")
    ids = [capture.terminal_id] if capture.terminal_id else terminal_ids(args.terminals,
                                                                           args.id_prefix)
    transport = _transport(args)
    if capture.terminal_id and hasattr(transport, "identify"):
        transport.identify = False  # the capture announces itself
    print(f"replaying {args.replay} ({capture.format}: {capture.lines} lines in "
          f"{len(capture.bursts)} bursts, {capture.duration(max_gap=max_gap):.1f} s at "
          f"original pace, {capture.skipped} skipped) as {', '.join(ids)} to "
          f"{transport.describe()} at {'full speed' if math.isinf(speed) else f'x{speed:g}'}",
          file=sys.stderr)
    delay = _time(args.start_delay, "--start-delay")
    async with transport:
        links = [transport.link(i) for i in ids]
        try:
            for link in links:
                await link.open()
            if delay:
                await asyncio.sleep(delay)
            clock = RealClock()
            results = await asyncio.gather(*(replay(capture, link, clock=clock, speed=speed,
                                                    max_gap=max_gap) for link in links))
        finally:
            for link in links:
                await link.close()
    summary = {
        "replayed": args.replay,
        "transport": transport.describe(),
        "terminals": ids,
        "bursts": sum(r.bursts for r in results),
        "lines": sum(r.lines for r in results),
        "bytes": sum(r.bytes for r in results),
        "reconnects": sum(r.reconnects for r in results),
        "elapsed_s": round(max(r.elapsed for r in results), 3),
    }
    _print_summary(summary, args.json)
    return 0


async def _load(args: argparse.Namespace) -> int:
    from simulators.load import LoadPlan, send_mqtt, send_tcp
    from simulators.sentences import SentenceProfile
    from simulators.transports import parse_host_port, parse_mqtt_url

    if args.fault:
        raise CLIError("--load sends clean pre-encoded streams: faults are for fleet runs")
    if args.serial_pty is not None:
        raise CLIError("--load runs over --tcp or --mqtt")
    interval = _interval(args)
    t0 = time.perf_counter()
    plan = LoadPlan.build(terminals=args.terminals, fixes_per_terminal=args.fixes,
                          seed=args.seed, id_prefix=args.id_prefix, interval=interval,
                          profile=SentenceProfile.parse(args.profile, talker=args.talker),
                          route=_route(args))
    built = time.perf_counter() - t0
    with contextlib.ExitStack() as files:
        try:  # before sending: a run is not worth making if its truth cannot be kept
            # opened once, before any terminal dials in: nothing else runs on the loop yet
            truth = (files.enter_context(Path(args.truth).open("w", encoding="utf-8"))  # noqa: ASYNC230
                     if args.truth else None)
        except OSError as exc:
            raise CLIError(_cannot_write_truth(args.truth, exc)) from None
        print(f"encoded {plan.total_fixes:,} fixes ({plan.total_bytes / 1e6:.1f} MB) for "
              f"{len(plan.terminal_ids)} terminals in {built:.2f} s", file=sys.stderr)
        if args.tcp:
            result = await send_tcp(plan, *parse_host_port(args.tcp), rate=args.load_rate,
                                    wait_consumed=_time(args.wait_consumed, "--wait-consumed"))
        else:
            host, port = parse_mqtt_url(args.mqtt)
            result = await send_mqtt(plan, host, port, qos=args.qos,
                                     connections=args.connections,
                                     epochs_per_message=args.epochs_per_message,
                                     rate=args.load_rate)
        if truth is not None:
            for tid, t in plan.truth():
                truth.write(json.dumps({"terminal": tid,
                                        "time": t.isoformat().replace("+00:00", "Z")}) + "\n")
    summary = {
        "transport": result.transport,
        "connections": result.connections,
        "fixes": result.fixes,
        "bytes": result.bytes,
        "encode_s": round(built, 3),
        "connect_s": round(result.connect_s, 3),
        "elapsed_s": round(result.elapsed_s, 3),
        "target_rate": result.target_rate,
        "achieved_rate": round(result.rate, 1),
        "consumed_s": None if result.consumed_s is None else round(result.consumed_s, 3),
        "consumed_rate": None if result.consumed_rate is None else round(result.consumed_rate,
                                                                         1),
        "mbytes_per_s": round(result.mbytes_per_s, 2),
        "first_fix": plan.start.isoformat(),
        "last_fix": plan.fix_time(plan.fixes_per_terminal - 1).isoformat(),
    }
    print(result.summary(), file=sys.stderr)
    _print_summary(summary, args.json)
    return 0
