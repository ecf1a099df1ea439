"""``fieldgate db upgrade|current``: schema migrations."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import timedelta

from fieldgate.cli.options import add_db_option, database_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "db", help="database schema: upgrade, current revision, TimescaleDB policies")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    up = actions.add_parser("upgrade", help="create or migrate the schema (PostgreSQL or SQLite)")
    add_db_option(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=_upgrade)

    cur = actions.add_parser("current", help="print the schema revision of the database")
    add_db_option(cur)
    cur.set_defaults(func=_current)

    ts = actions.add_parser(
        "timescale", help="set TimescaleDB compression and retention of positions",
        description="Replace the compression and retention policies of the positions "
                    "hypertable. On plain PostgreSQL and SQLite it changes nothing and says so.")
    add_db_option(ts)
    ts.add_argument("--compress-after", type=_days, default=7, metavar="DAYS",
                    help="compress chunks older than this (default 7; 0 = no compression)")
    ts.add_argument("--retain", type=_days, default=0, metavar="DAYS",
                    help="drop chunks older than this (default 0 = keep everything)")
    ts.set_defaults(func=_timescale)


def _upgrade(args: argparse.Namespace) -> int:
    from fieldgate.db import current_revision, upgrade

    db = database_from(args)
    with database_errors(db):
        upgrade(db, args.revision)
        # what the database is at now: an older --revision than the current one changes
        # nothing (upgrade never goes back)
        revision = current_revision(db)
    print(f"schema of {db} is at {revision} (asked for {args.revision})")
    return 0


def _current(args: argparse.Namespace) -> int:
    from fieldgate.db import current_revision

    db = database_from(args)
    with database_errors(db):
        revision = current_revision(db)
    print(revision or "(empty database)")
    return 0


@contextlib.contextmanager
def database_errors(db: object) -> Iterator[None]:
    """A server that is away, a file that is no database, an unknown --revision: one line."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from fieldgate.cli import CLIError

    try:
        yield
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc  # the driver's words, without SQLAlchemy's
        lines = str(reason).strip().splitlines() or [type(reason).__name__]
        raise CLIError(f"{db}: {lines[0]}") from exc
    except (CommandError, OSError) as exc:  # OSError: the SQLite file's folder cannot be made
        raise CLIError(f"{db}: {exc}") from exc


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days") from None
    if days < 0:
        raise argparse.ArgumentTypeError("days cannot be negative")
    if days > timedelta.max.days:
        raise argparse.ArgumentTypeError(f"at most {timedelta.max.days} days")
    return days


def _timescale(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from telemetry.timescale import PolicyOutcome, apply_policies_for

    compress = timedelta(days=args.compress_after) if args.compress_after else None
    retain = timedelta(days=args.retain) if args.retain else None
    try:
        outcome = apply_policies_for(database_from(args), compress_after=compress, retain=retain)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    messages = {
        PolicyOutcome.APPLIED: "policies applied to the positions hypertable",
        PolicyOutcome.NO_TIMESCALEDB: "no timescaledb extension: positions is a plain table, "
                                      "nothing changed (delete old rows on a schedule instead)",
        PolicyOutcome.NOT_HYPERTABLE: "timescaledb is installed but positions is not a "
                                      "hypertable (created before the extension?): nothing "
                                      "changed",
        PolicyOutcome.SQLITE: "SQLite: no TimescaleDB policies, nothing changed",
    }
    print(messages[outcome])
    return 0
