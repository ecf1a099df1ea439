"""``fieldgate faults list|rules``: terminal faults found by the health rules."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from typing import Any

from fieldgate.cli.options import add_db_option, database_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("faults", help="terminal faults found by the health rules")
    actions = parser.add_subparsers(dest="faults_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", help="faults, newest first")
    add_db_option(ls)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.add_argument("--open", action="store_true", help="only faults still open")
    ls.add_argument("--terminal", metavar="ID", help="only this terminal's faults")
    ls.add_argument("--rule", metavar="RULE", help="only this rule's faults")
    ls.add_argument("--limit", metavar="N", type=int, default=None, help="at most N faults")
    ls.set_defaults(func=_list)

    tickets = actions.add_parser(
        "tickets", help="turn fault events into repair tickets (the outbox consumer)")
    add_db_option(tickets)
    tickets.add_argument("--once", action="store_true",
                         help="process what is waiting, print one JSON line per event, exit")
    tickets.add_argument("--poll", metavar="SECONDS", type=float, default=2.0,
                         help="how often to look for new events when running (default 2)")
    tickets.set_defaults(func=_tickets)

    from telemetry.health.settings import add_health_options

    rules = actions.add_parser(
        "rules", help="the rules and the thresholds in effect with these settings")
    rules.add_argument("--json", action="store_true", help="JSON instead of a table")
    rules.add_argument("--model", metavar="MODEL", default=None,
                       help="thresholds for terminals of this model")
    add_health_options(rules)
    rules.set_defaults(func=_rules)


def _list(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from telemetry.health.store import FaultStore

    if args.limit is not None and args.limit < 1:
        raise CLIError("--limit must be at least 1")
    db = database_from(args)

    async def fetch() -> list:
        async with FaultStore(db=db) as store:
            return await store.list_faults(open_only=args.open, terminal_id=args.terminal,
                                           rule=args.rule, limit=args.limit)

    try:
        faults = asyncio.run(fetch())
    except Exception as exc:  # an unreachable server, a database without the schema
        raise CLIError(f"cannot read faults from {db}: {_first_line(exc)}") from exc
    out = sys.stdout
    if args.json:
        for fault in faults:
            out.write(json.dumps(fault.as_json(), sort_keys=True) + "\n")
        return 0
    header = ("ID", "TERMINAL", "RULE", "STATE", "OPENED", "CLEARED", "TICKET")
    rows = [(str(f.id), f.terminal_id, f.rule, f.state, _short(f.opened_at),
             _short(f.cleared_at), str(f.work_order_id or "")) for f in faults]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    if not faults:
        out.write("(no faults)\n")
    return 0


def _tickets(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from fieldservice.auto_tickets import TicketConsumer, TicketPolicy
    from fieldservice.db import create_engine

    if not args.poll > 0:
        raise CLIError("--poll must be > 0")
    db = database_from(args)

    async def run() -> int:
        engine = create_engine(db)
        try:
            consumer = TicketConsumer(engine=engine, policy=TicketPolicy(poll_s=args.poll))
            if args.once:
                for done in await consumer.process_pending():
                    sys.stdout.write(json.dumps(dataclasses.asdict(done), sort_keys=True) + "\n")
                return 0
            async with consumer:
                await asyncio.Event().wait()  # until interrupted
            return 0
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot process fault events in {db}: {_first_line(exc)}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("sqlalchemy"):
            raise CLIError(f"cannot process fault events in {db}: {_first_line(exc)}") from exc
        raise


def _rules(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from telemetry.health.builtin_rules import default_registry
    from telemetry.health.errors import HealthConfigError
    from telemetry.health.settings import health_settings_from

    registry = default_registry()
    try:
        config = health_settings_from(args).to_config(registry)
        resolved = registry.resolve(config, args.model)
    except HealthConfigError as exc:
        raise CLIError(str(exc)) from exc
    items: list[dict[str, Any]] = [
        {"name": rule.name, "kind": str(rule.kind), "summary": rule.summary,
         "thresholds": dataclasses.asdict(resolved[rule.name])} for rule in registry]
    if args.json:
        sys.stdout.write(json.dumps(items, indent=2) + "\n")
        return 0
    for item in items:
        th = ", ".join(f"{k}={v}" for k, v in item["thresholds"].items())
        sys.stdout.write(f"{item['name']} ({item['kind']}): {item['summary']}\n    {th}\n")
    return 0


def _short(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
