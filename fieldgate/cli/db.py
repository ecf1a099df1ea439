"""``fieldgate db upgrade|current``: schema migrations."""

from __future__ import annotations

import argparse

from fieldgate.cli.options import add_db_option, database_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("db", help="database schema: upgrade, current revision")
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    up = actions.add_parser("upgrade", help="create or migrate the schema (PostgreSQL or SQLite)")
    add_db_option(up)
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(func=_upgrade)

    cur = actions.add_parser("current", help="print the schema revision of the database")
    add_db_option(cur)
    cur.set_defaults(func=_current)


def _upgrade(args: argparse.Namespace) -> int:
    from fieldgate.db import upgrade

    db = database_from(args)
    upgrade(db, args.revision)
    print(f"schema of {db} is at {args.revision}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from fieldgate.db import current_revision

    print(current_revision(database_from(args)) or "(empty database)")
    return 0
