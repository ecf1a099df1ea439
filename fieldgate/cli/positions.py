"""``fieldgate positions TERMINAL_ID``: a terminal's stored fixes as JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from fieldgate.cli.options import add_db_option, database_from

#: the largest LIMIT both databases take (a signed 64-bit integer)
MAX_LIMIT = 2**63 - 1


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "positions",
        help="print a terminal's stored fixes as JSON lines",
        description="Print the fixes stored for TERMINAL_ID, oldest first, one JSON object per "
        "line (the keys of `fieldgate decode` plus received_at). Times are ISO 8601; a time "
        "without offset is UTC; a bare date means its midnight UTC.",
    )
    parser.add_argument("terminal_id", metavar="TERMINAL_ID")
    add_db_option(parser)
    parser.add_argument("--since", metavar="T", help="first fix time to print (inclusive)")
    parser.add_argument("--until", metavar="T", help="fix time to stop at (exclusive)")
    parser.add_argument("--limit", metavar="N", type=int, help="print at most N fixes")
    parser.set_defaults(func=_positions)


def parse_time(text: str, option: str) -> datetime:
    from fieldgate.cli import CLIError

    try:
        value = datetime.fromisoformat(text.strip())
        # astimezone overflows past year 9999 (9999-12-31T23:00-05:00)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise CLIError(f"{option}: {text!r} is not a timestamp; use ISO 8601, "
                       "e.g. 2026-03-01T12:00:00Z or 2026-03-01") from None


def _positions(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from telemetry.errors import QueryError

    db = database_from(args)
    since = parse_time(args.since, "--since") if args.since is not None else None
    until = parse_time(args.until, "--until") if args.until is not None else None
    if since is not None and until is not None and since >= until:
        raise CLIError(f"--since ({args.since}) must be before --until ({args.until})")
    if args.limit is not None and args.limit < 0:
        raise CLIError("--limit must not be negative")
    if args.limit is not None and args.limit > MAX_LIMIT:
        raise CLIError(f"--limit must be at most {MAX_LIMIT}")
    try:
        asyncio.run(_print(db, args.terminal_id, since, until, args.limit))
    except QueryError as exc:
        raise CLIError(str(exc)) from exc
    except BrokenPipeError:  # `| head`: the reader has what it wanted
        sys.stderr.close()
    return 0


async def _print(db, terminal_id, since, until, limit) -> None:
    from telemetry.queries import TelemetryReader

    out = sys.stdout
    async with TelemetryReader(db) as reader:
        async for fix in reader.positions(terminal_id, since=since, until=until, limit=limit):
            out.write(json.dumps(fix.as_json()) + "\n")
    out.flush()
