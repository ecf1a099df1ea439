"""Options shared by several commands."""

from __future__ import annotations

import argparse
import os

from fieldgate.dburl import DatabaseURL, DatabaseURLError


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="postgresql://user@host:port/db or sqlite:///path/file.db (env FIELDGATE_DB)",
    )


def database_from(args: argparse.Namespace) -> DatabaseURL:
    from fieldgate.cli import CLIError

    url = args.db or os.environ.get("FIELDGATE_DB")
    try:
        return DatabaseURL.parse(url or "")
    except DatabaseURLError as exc:
        raise CLIError(str(exc)) from exc
