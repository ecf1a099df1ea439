"""``fieldgate terminals add|list|command|commands``: the terminal registry, and downlink
commands to JT/T 808 and GT06 terminals, from the command line."""

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
    from devices.commands import Command
    from fieldservice.schemas.fleet import TerminalCreate

STATES = ("in_stock", "installed", "faulty", "returned", "scrapped")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("terminals", help="terminal registry: add, list; commands")
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

    cmd = actions.add_parser(
        "command", help="send a command to a JT/T 808 or GT06 terminal (a gateway holding its "
                        "connection sends it, now or when it connects)")
    cmd.add_argument("terminal_id", metavar="ID")
    cmd.add_argument("kind", choices=("set_interval", "locate", "text", "reset", "raw"))
    cmd.add_argument("--interval", type=int, metavar="SECONDS", help="set_interval: seconds")
    cmd.add_argument("--text", help="text: the message; raw: the command string")
    cmd.add_argument("--expires-in", type=int, default=3600, metavar="SECONDS",
                     help="how long it waits for the terminal (default 3600)")
    cmd.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long for the terminal's answer and print it")
    add_db_option(cmd)
    cmd.set_defaults(func=_command)

    cmds = actions.add_parser("commands", help="a terminal's commands and their states")
    cmds.add_argument("terminal_id", metavar="ID")
    cmds.add_argument("--json", action="store_true", help="JSON lines")
    add_db_option(cmds)
    cmds.set_defaults(func=_commands)


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


def _command(args: argparse.Namespace) -> int:
    from devices.commands import Command, CommandKind
    from fieldgate.cli import CLIError

    try:
        command = Command(CommandKind(args.kind), args.interval, args.text)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if not 10 <= args.expires_in <= 7 * 86_400:
        raise CLIError("--expires-in must be between 10 seconds and 7 days")
    row = asyncio.run(_send(service_db(args), args.terminal_id, command, args.expires_in,
                            args.wait))
    print(_command_line(row))
    return 0 if row["state"] in ("pending", "sent", "acknowledged") else 1


async def _send(db: DatabaseURL, terminal: str, command: Command, expires_in: int,
                wait: float) -> dict:
    import time

    from fieldgate.cli import CLIError
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.errors import ServiceError
    from fieldservice.services.terminal_commands import create_command
    from telemetry.commands import CommandStore

    actor = command_line_actor()
    async with standalone_session(db, actor=actor,
                                  context="fieldgate terminals command") as session:
        try:
            row = await create_command(session, actor=actor, terminal_id=terminal,
                                       command=command,
                                       ttl=dt.timedelta(seconds=expires_in))
        except ServiceError as exc:
            raise CLIError(exc.message) from None
        await session.commit()
    deadline = time.monotonic() + wait
    async with CommandStore(db) as store:
        current = await store.get(row.id)
        while (wait > 0 and current is not None and current.state in ("pending", "sent")
               and time.monotonic() < deadline):
            await asyncio.sleep(0.2)
            current = await store.get(row.id)
    return (current or row).as_json()


def _command_line(c: dict) -> str:
    what = c["kind"] + (f" {c['interval_s']}s" if c["interval_s"] else "") + (
        f" {c['text']!r}" if c["text"] else "")
    answer = f": {c['result']}" if c["result"] else ""
    return f"command {c['id']} for {c['terminal_id']} ({what}): {c['state']}{answer}"


def _commands(args: argparse.Namespace) -> int:
    rows = asyncio.run(_history(service_db(args), args.terminal_id))
    for c in rows:
        if args.json:
            print(json.dumps(c, sort_keys=True, default=str))
        else:
            print(f"{c['created_at']:%Y-%m-%d %H:%M:%S} {c['created_by']:<16} "
                  + _command_line(c))
    return 0


async def _history(db: DatabaseURL, terminal: str) -> list[dict]:
    from telemetry.commands import CommandStore

    async with CommandStore(db) as store:
        rows, _total = await store.of_terminal(terminal, limit=10**6)
    return [r.as_json() for r in rows]
