"""``fieldgate serve``: gateway, telemetry writer, REST API and periodic jobs in one process."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from fieldgate.cli.gateway import (
    add_gateway_options,
    gateway_settings,
    health_config,
    ingest_config,
)
from fieldgate.cli.options import add_db_option, add_tls_options, tls_files

if TYPE_CHECKING:  # imported where used: `fieldgate --help` stays quick
    from fieldgate.serve import ServeConfig


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve", help="gateway + API + periodic jobs in one process",
        description="Run the gateway (TCP/MQTT/serial into the database), the REST API and web "
                    "pages, and the service layer's periodic jobs in one process. Every option "
                    "also reads FIELDGATE_<NAME>; options win over variables.")
    add_db_option(parser)
    api = parser.add_argument_group("API")
    api.add_argument("--host", default=None,
                     help="API address (env FIELDGATE_HOST, default 127.0.0.1)")
    api.add_argument("--port", type=int, default=None,
                     help="API port (env FIELDGATE_PORT, default 8000)")
    api.add_argument("--jobs-interval", type=float, default=None, metavar="SECONDS",
                     help="escalation sweep and return-visit generator period "
                          "(env FIELDGATE_JOBS_INTERVAL, default 60)")
    add_tls_options(api)
    add_gateway_options(parser)
    parser.set_defaults(func=_run)


def serve_config(args: argparse.Namespace) -> ServeConfig:
    """The :class:`fieldgate.serve.ServeConfig` of the flags and ``FIELDGATE_*`` variables."""
    from fieldgate.cli import CLIError
    from fieldgate.cli.users import service_db, service_settings
    from fieldgate.serve import ServeConfig
    from gateway.errors import ConfigError

    settings = gateway_settings(args)
    try:
        gateway = settings.to_config()
    except ConfigError as exc:
        raise CLIError(str(exc)) from None
    if settings.metrics is not None:
        raise CLIError("--metrics is for `fieldgate gateway`; `serve` shows the gateway's "
                       "metrics on the API's /metrics")
    try:
        port = args.port if args.port is not None else int(os.environ.get("FIELDGATE_PORT",
                                                                          "8000"))
        jobs = (args.jobs_interval if args.jobs_interval is not None
                else float(os.environ.get("FIELDGATE_JOBS_INTERVAL", "60")))
    except ValueError as exc:
        raise CLIError(f"FIELDGATE_PORT / FIELDGATE_JOBS_INTERVAL: {exc}") from None
    if not 0 <= port <= 65535 or not jobs > 0:  # `not >`: refuses nan as well
        raise CLIError("the port must be 0-65535 and the jobs interval positive")
    health, sweep = health_config(args)
    return ServeConfig(db=service_db(args), gateway=gateway, ingest=ingest_config(args),
                       service=service_settings(), health=health, offline_sweep=sweep,
                       api_host=args.host or os.environ.get("FIELDGATE_HOST", "127.0.0.1"),
                       api_port=port, jobs_interval_s=jobs, tls=tls_files(args))


def _run(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from fieldgate.cli.gateway import run_event_loop
    from fieldgate.serve import run_all
    from telemetry.errors import SpoolError, SpoolLocked

    config = serve_config(args)
    try:
        return run_event_loop(run_all(config))
    except SpoolLocked as exc:
        raise CLIError(f"{exc} (give each gateway process its own --spool-dir)") from None
    except SpoolError as exc:  # a --spool-dir that is a file, not writable, ...
        raise CLIError(str(exc)) from None
    except OSError as exc:
        raise CLIError(f"cannot start: {exc}") from None
