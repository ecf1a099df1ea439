"""``fieldgate escalations sweep`` and ``fieldgate return-visits generate``: the service layer's
periodic jobs, for cron or a systemd timer (``fieldgate serve`` runs them by itself)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json

from fieldgate.cli.options import add_db_option
from fieldgate.cli.users import service_db, service_settings
from fieldgate.dburl import DatabaseURL


def iso_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("escalations", help="escalations: run the SLA sweep")
    actions = parser.add_subparsers(dest="escalations_command", metavar="ACTION", required=True)
    sweep = actions.add_parser(
        "sweep", help="escalate orders past their SLA deadlines, and approved urgent orders "
                      "no internal technician is free for (safe to run in parallel)")
    sweep.add_argument("--json", action="store_true", help="one JSON object")
    add_db_option(sweep)
    sweep.set_defaults(func=_sweep)

    parser = sub.add_parser("return-visits", help="return visits: generate the schedule")
    actions = parser.add_subparsers(dest="return_visits_command", metavar="ACTION",
                                    required=True)
    gen = actions.add_parser("generate", help="schedule the callbacks installed customers are "
                                              "due (idempotent)")
    gen.add_argument("--on", type=iso_date, metavar="DATE",
                     help="generate as if today were DATE (ISO 8601; default today, UTC)")
    add_db_option(gen)
    gen.set_defaults(func=_generate)


def _sweep(args: argparse.Namespace) -> int:
    db = service_db(args)
    ran, escalated = asyncio.run(_run_sweep(db))
    if args.json:
        print(json.dumps({"ran": ran, "escalated": escalated}))
    elif not ran:
        print("another process is sweeping; nothing done")
    else:
        for line in escalated:
            print(f"escalated {line}")
        print(f"{len(escalated)} escalation(s)")
    return 0


async def _run_sweep(db: DatabaseURL) -> tuple[bool, list[str]]:
    from fieldservice.db import create_engine, session_factory
    from fieldservice.services.escalations import sweep

    settings = service_settings()
    engine = create_engine(db)
    try:
        result = await sweep(session_factory(engine), settings=settings)
    finally:
        await engine.dispose()
    return result.ran, [f"{number}: {reason.value}" for number, reason in result.escalated]


def _generate(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError

    db = service_db(args)
    try:
        created = asyncio.run(_run_generate(db, args.on))
    except OverflowError:  # the look-ahead or back-fill window leaves the calendar
        raise CLIError(f"--on {args.on}: too close to the ends of the calendar") from None
    print(f"{created} return visit(s) scheduled")
    return 0


async def _run_generate(db: DatabaseURL, on: dt.date | None) -> int:
    from fieldservice.db import create_engine, session_factory
    from fieldservice.jobs import generate_return_visits

    engine = create_engine(db)
    now = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC) if on else None
    try:
        return await generate_return_visits(session_factory(engine),
                                            settings=service_settings(),
                                            now=now)
    finally:
        await engine.dispose()
