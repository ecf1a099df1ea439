"""``fieldgate token-keys rotate|list``: the API's token signing keys, rotated without downtime.

A rotation adds a new key to the database; every API process re-reads the keys within 30 s and
signs new tokens with it, while tokens signed with the older keys stay valid until they expire.
Keys no valid token can carry any more (their successor has signed for longer than a token
lives) are deleted at the next rotation. With ``FIELDGATE_SECRET_KEY`` set, the keys are the
operator's: rotate by moving the old key to ``FIELDGATE_PREVIOUS_SECRET_KEYS`` and setting a new
one, restarting the API processes one at a time (docs/api.md).
"""

from __future__ import annotations

import argparse
import asyncio

from fieldgate.cli.options import add_db_option
from fieldgate.cli.users import service_db, service_settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("token-keys", help="the API's token signing keys: rotate, list")
    actions = parser.add_subparsers(dest="token_keys_command", metavar="ACTION", required=True)
    rotate = actions.add_parser("rotate", help="add a new signing key (no downtime: earlier "
                                               "tokens stay valid until they expire)")
    add_db_option(rotate)
    rotate.set_defaults(func=_rotate)
    ls = actions.add_parser("list", help="the signing keys (names and ages, never the keys)")
    add_db_option(ls)
    ls.set_defaults(func=_list)


def _configured_refusal() -> None:
    from fieldgate.cli import CLIError

    if service_settings().secret_key is not None:
        raise CLIError("FIELDGATE_SECRET_KEY is set: the keys are yours, not the database's; "
                       "rotate by moving the old key to FIELDGATE_PREVIOUS_SECRET_KEYS and "
                       "setting a new FIELDGATE_SECRET_KEY, restarting the API processes one "
                       "at a time")


def _rotate(args: argparse.Namespace) -> int:
    _configured_refusal()
    name, retired = asyncio.run(_do_rotate(args))
    print(f"new signing key {name}: API processes sign with it within 30 s; tokens signed "
          f"with the earlier keys stay valid until they expire")
    for old in retired:
        print(f"retired {old} (no valid token can carry it any more)")
    return 0


async def _do_rotate(args: argparse.Namespace) -> tuple[str, list[str]]:
    from datetime import timedelta

    from fieldservice.api.state import KEY_REFRESH
    from fieldservice.db import create_engine
    from fieldservice.db.shared_secrets import rotate_token_key

    engine = create_engine(service_db(args))
    try:
        return await rotate_token_key(
            engine, token_ttl=timedelta(seconds=service_settings().token_ttl_s),
            refresh=KEY_REFRESH)
    finally:
        await engine.dispose()


def _list(args: argparse.Namespace) -> int:
    _configured_refusal()
    keys = asyncio.run(_keys(args))
    for i, (name, created) in enumerate(keys):
        role = "signing" if i == len(keys) - 1 else "verifying"
        print(f"{name:<48} created {created:%Y-%m-%d %H:%M:%S} UTC  {role}")
    return 0


async def _keys(args: argparse.Namespace) -> list[tuple[str, object]]:
    from fieldservice.db import create_engine
    from fieldservice.db.shared_secrets import token_keys

    engine = create_engine(service_db(args))
    try:
        return [(name, created) for name, _secret, created in await token_keys(engine)]
    finally:
        await engine.dispose()
