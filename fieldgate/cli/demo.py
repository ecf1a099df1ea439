"""``fieldgate demo``: the whole system with a simulated fleet (see :mod:`fieldgate.demo`)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

DEMO_DIR = Path(".fieldgate/demo")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="run everything with a simulated fleet (SQLite, no server needed)",
        description="Start the gateway, the telemetry writer, the API and pages, seed customers "
                    "and install orders through the API, and drive a simulated fleet of "
                    "terminals (a few with faults) into it. Runs until Ctrl-C.")
    parser.add_argument("--db", default=None,
                        help=f"database (default: a fresh sqlite:///{DEMO_DIR}/fieldgate.db)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the previous demo's SQLite file and spool instead of "
                             "starting afresh")
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    parser.add_argument("--gateway-port", type=int, default=5055,
                        help="gateway TCP port (default 5055; 0 = any free port)")
    parser.add_argument("--jt808-port", type=int, default=5808,
                        help="gateway JT/T 808 port (default 5808; 0 = any free port)")
    parser.add_argument("--gt06-port", type=int, default=5806,
                        help="gateway GT06 port (default 5806; 0 = any free port)")
    parser.add_argument("--binary-terminals", type=int, default=2, metavar="N",
                        help="simulated JT/T 808 and GT06 terminals, N of each (default 2; "
                             "0 = none and no such listeners)")
    parser.add_argument("--terminals", type=int, default=12,
                        help="simulated terminals, the last one unregistered (default 12)")
    parser.add_argument("--no-faults", action="store_true",
                        help="no injected faults: every terminal healthy")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from fieldgate.cli.db import database_errors
    from fieldgate.cli.gateway import run_event_loop
    from fieldgate.db import upgrade
    from fieldgate.dburl import DatabaseURL, DatabaseURLError
    from fieldgate.demo import DemoPlan, banner, demo_health, run_demo
    from fieldgate.serve import ServeConfig, run_all
    from fieldservice.settings import ServiceSettings
    from gateway.config import GatewayConfig, TcpConfig
    from simulators import terminal_ids
    from telemetry.config import IngestConfig

    if not 2 <= args.terminals <= 2000:
        raise CLIError("--terminals must be between 2 and 2000")
    if not 0 <= args.binary_terminals <= 100:
        raise CLIError("--binary-terminals must be between 0 and 100")
    for flag, port in (("--port", args.port), ("--gateway-port", args.gateway_port),
                       ("--jt808-port", args.jt808_port), ("--gt06-port", args.gt06_port)):
        if not 0 <= port <= 65535:
            raise CLIError(f"{flag} must be 0-65535, got {port}")
    if args.db is None:
        if not args.keep and DEMO_DIR.exists():
            shutil.rmtree(DEMO_DIR)
        args.db = f"sqlite:///{DEMO_DIR / 'fieldgate.db'}"
    try:
        db = DatabaseURL.parse(args.db)
    except DatabaseURLError as exc:
        raise CLIError(str(exc)) from None
    print(f"fieldgate demo: database {db}", flush=True)
    with database_errors(db):
        upgrade(db)
    listeners: tuple[TcpConfig, ...] = ()
    if args.binary_terminals:
        listeners = (TcpConfig(host="127.0.0.1", port=args.jt808_port, protocol="jt808"),
                     TcpConfig(host="127.0.0.1", port=args.gt06_port, protocol="gt06"))
    config = ServeConfig(
        db=db,
        gateway=GatewayConfig(tcp=TcpConfig(host="127.0.0.1", port=args.gateway_port),
                              listeners=listeners),
        ingest=IngestConfig(spool_dir=DEMO_DIR / "spool"),
        service=ServiceSettings(metrics_public=False),
        api_host=args.host, api_port=args.port, jobs_interval_s=30.0,
        health=demo_health(),
    )
    plan = DemoPlan(terminals=args.terminals, faults=not args.no_faults,
                    ids=terminal_ids(args.terminals, "SIM"),
                    jt808_ids=terminal_ids(args.binary_terminals, "1390000")
                    if args.binary_terminals else [],
                    gt06_ids=terminal_ids(args.binary_terminals, "86412030000")
                    if args.binary_terminals else [])

    async def office_and_fleet(stack) -> None:
        print(banner(stack), flush=True)
        ports = {name: server.port for name, server in stack.gateway.listeners.items()}
        await run_demo(stack, plan, gateway_port=stack.gateway.tcp.addresses[0][1], ports=ports)

    try:
        return run_event_loop(run_all(config, companion=office_and_fleet))
    except OSError as exc:
        raise CLIError(f"cannot start the demo: {exc} (is another demo running? try --port "
                       "and --gateway-port, --jt808-port, --gt06-port)") from None
