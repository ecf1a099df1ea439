"""``fieldgate terminals add|list``: the terminal registry from the command line."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from typing import TYPE_CHECKING

from fieldgate.cli.options import add_db_option
from fieldgate.cli.users import service_db
from fieldgate.dburl import DatabaseURL

if TYPE_CHECKING:  # imported where used: `fieldgate --help` stays quick
    from fieldservice.schemas.fleet import TerminalCreate

STATES = ("in_stock", "installed", "faulty", "returned", "scrapped")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("terminals", help="terminal registry: add, list")
    actions = parser.add_subparsers(dest="terminals_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="register a terminal in stock (optionally its SIM)")
    add.add_argument("terminal_id", metavar="ID", help="terminal id (IMEI, or the $PGID id)")
    add.add_argument("--sim", metavar="ICCID", help="the SIM card in it (created if unknown)")
    add.add_argument("--msisdn", help="the SIM's phone number")
    add.add_argument("--carrier", help="the SIM's carrier")
    add.add_argument("--model", metavar="M")
    add.add_argument("--firmware")
    add.add_argument("--purchase-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    add.add_argument("--warranty-months", type=int, default=12)
    add.add_argument("--report-interval", type=int, metavar="SECONDS",
                     help="seconds between reports the terminal is configured for")
    add_db_option(add)
    add.set_defaults(func=_add)

    ls = actions.add_parser("list", help="list registered terminals")
    ls.add_argument("--json", action="store_true", help="JSON lines")
    ls.add_argument("--state", choices=STATES)
    add_db_option(ls)
    ls.set_defaults(func=_list)


def _add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from fieldgate.cli import CLIError
    from fieldgate.cli.users import validation_message
    from fieldservice.schemas.fleet import TerminalCreate

    db = service_db(args)
    try:
        data = TerminalCreate(
            terminal_id=args.terminal_id, iccid=args.sim, msisdn=args.msisdn,
            carrier=args.carrier, model=args.model, firmware=args.firmware,
            purchase_date=args.purchase_date, warranty_months=args.warranty_months,
            report_interval_s=args.report_interval,
        )
    except ValidationError as exc:
        raise CLIError(validation_message(exc)) from None
    detail = asyncio.run(_create(db, data))
    sim = f" with SIM {detail['iccid']}" if detail["iccid"] else ""
    print(f"terminal {detail['terminal_id']} registered{sim} ({detail['state']})")
    return 0


async def _create(db: DatabaseURL, data: TerminalCreate) -> dict:
    from fieldgate.cli import CLIError
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.errors import ServiceError
    from fieldservice.services import registry

    actor = command_line_actor()
    async with standalone_session(db, actor=actor,
                                  context="fieldgate terminals add") as session:
        try:
            terminal = await registry.create_terminal(session, actor=actor,
                                                      data=data)
        except ServiceError as exc:
            raise CLIError(exc.message) from None
        await session.commit()
        detail = await registry.terminal_detail(session, terminal, today=dt.date.today())
        return detail.model_dump(mode="json")


def _list(args: argparse.Namespace) -> int:
    db = service_db(args)
    for t in asyncio.run(_terminals(db, args.state)):
        if args.json:
            print(json.dumps(t, sort_keys=True))
        else:
            plate = t["vehicle"]["plate"] if t["vehicle"] else "-"
            print(f"{t['terminal_id']:<20} {t['model'] or '-':<10} {t['state']:<10} "
                  f"{t['iccid'] or '-':<22} {plate}")
    return 0


async def _terminals(db: DatabaseURL, state: str | None) -> list[dict]:
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.models import TerminalState
    from fieldservice.services import registry

    async with standalone_session(db, actor=command_line_actor()) as session:
        page = await registry.list_terminals(
            session, state=TerminalState(state) if state else None, model=None, q=None,
            limit=10**7, offset=0)
        today = dt.date.today()
        return [(await registry.terminal_detail(session, t, today=today)).model_dump(mode="json")
                for t in page.items]
