"""``fieldgate work-orders list``: work orders for scripts (JSON lines) and people (a table)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json

from fieldgate.cli.options import add_db_option
from fieldgate.cli.users import service_db
from fieldgate.dburl import DatabaseURL

STATES = ("new", "awaiting_approval", "approved", "assigned", "en_route", "on_site",
          "completed", "closed", "rejected", "cancelled")


#: ids are 32-bit integer columns on PostgreSQL
MAX_ID = 2**31 - 1


def _when(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; naive means UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
        # in UTC here: past year 9999 it overflows now, not in the database's driver
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; use ISO 8601, e.g. 2026-03-01T12:00:00Z or 2026-03-01"
        ) from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("work-orders", help="work orders: list")
    actions = parser.add_subparsers(dest="work_orders_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="list work orders, newest first")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.add_argument("--state", action="append", choices=STATES, default=[],
                    help="repeatable")
    ls.add_argument("--type", choices=("install", "repair"))
    ls.add_argument("--priority", choices=("normal", "urgent"))
    ls.add_argument("--source", choices=("customer_call", "complaint", "auto_detected",
                                         "inspection"))
    ls.add_argument("--assignee", metavar="USERNAME")
    ls.add_argument("--customer", type=int, metavar="ID")
    ls.add_argument("--terminal", metavar="ID")
    ls.add_argument("--since", type=_when, metavar="T", help="created at or after (ISO 8601)")
    ls.add_argument("--until", type=_when, metavar="T", help="created before (ISO 8601)")
    ls.add_argument("--limit", type=int, default=1000)
    add_db_option(ls)
    ls.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError

    if not 1 <= args.limit <= MAX_ID:
        raise CLIError(f"--limit must be 1 to {MAX_ID}")
    if args.customer is not None and not 1 <= args.customer <= MAX_ID:
        raise CLIError(f"--customer {args.customer} is not a customer id")
    db = service_db(args)
    for order in asyncio.run(_orders(db, args)):
        if args.json:
            print(json.dumps(order, sort_keys=True))
        else:
            print(f"{order['number']:<15} {order['type']:<8} {order['priority']:<7} "
                  f"{order['state']:<18} {order['customer_company'][:24]:<24} "
                  f"{order['plate'] or '-':<10} {order['assignee_username'] or '-'}")
    return 0


async def _orders(db: DatabaseURL, args: argparse.Namespace) -> list[dict]:
    from fieldgate.cli import CLIError
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.models import Priority, Source, WorkOrderState, WorkOrderType
    from fieldservice.schemas.work_orders import WorkOrderPublic
    from fieldservice.services.users import user_by_name
    from fieldservice.services.work_orders import WorkOrderFilter, list_orders

    async with standalone_session(db, actor=command_line_actor()) as session:
        assignee = None
        if args.assignee:
            user = await user_by_name(session, args.assignee)
            if user is None:
                raise CLIError(f"no user {args.assignee}")
            assignee = user.id
        filters = WorkOrderFilter(
            states=frozenset(WorkOrderState(s) for s in args.state),
            type=WorkOrderType(args.type) if args.type else None,
            priority=Priority(args.priority) if args.priority else None,
            source=Source(args.source) if args.source else None,
            assignee_pk=assignee, customer_pk=args.customer, terminal_id=args.terminal,
            created_from=args.since, created_to=args.until,
        )
        page = await list_orders(session, actor=command_line_actor(), filters=filters,
                                 limit=args.limit, offset=0)
        return [WorkOrderPublic.of(o).model_dump(mode="json") for o in page.items]
