"""The ``fieldgate`` command.

Each command group lives in a module of this package exposing ``register(subparsers)``; the
module adds its parser and sets ``func`` (a callable taking the parsed namespace and returning an
exit status). Options that have a ``FIELDGATE_*`` environment variable document it in their help.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from fieldgate import __version__

# command modules, in the order `fieldgate --help` lists them
COMMAND_MODULES = [
    "fieldgate.cli.db",
    "fieldgate.cli.decode",
    "fieldgate.cli.gateway",
    "fieldgate.cli.positions",
    "fieldgate.cli.terminals",
    "fieldgate.cli.users",
    "fieldgate.cli.token_keys",
    "fieldgate.cli.work_orders",
    "fieldgate.cli.service_jobs",
    "fieldgate.cli.api",
    "fieldgate.cli.serve",
    "fieldgate.cli.simulate",
    "fieldgate.cli.demo",
    "fieldgate.cli.faults",
]


class CLIError(Exception):
    """A user error worth one clear line on stderr and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldgate",
        description="GPS-terminal gateway, telemetry and field-service management.",
    )
    parser.add_argument("--version", action="version", version=f"fieldgate {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (repeat for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        # one line: a driver's message (psycopg) goes on with hints and SQL excerpts
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"fieldgate {args.command}: {lines[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
