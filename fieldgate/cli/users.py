"""``fieldgate users add|list|passwd``: accounts of the service API."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import TYPE_CHECKING

from fieldgate.cli.options import add_db_option, database_from
from fieldgate.dburl import DatabaseURL

if TYPE_CHECKING:  # imported where used: `fieldgate --help` stays quick
    from fieldservice.schemas.people import UserCreate
    from fieldservice.settings import ServiceSettings

ROLES = ("technician", "installer", "dispatcher", "manager", "finance", "tester", "admin")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("users", help="API users: add, list, set a password")
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create a user (prompts for the password if omitted)")
    add.add_argument("name", metavar="NAME", help="login name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password", help="the password (prompted for when omitted; a password "
                                        "on the command line is visible to other local users)")
    add.add_argument("--full-name")
    add.add_argument("--zone", help="working zone, shown to dispatchers")
    add.add_argument("--skill", action="append", default=[], help="skill tag (repeatable)")
    add_db_option(add)
    add.set_defaults(func=_add)

    ls = actions.add_parser("list", help="list users")
    ls.add_argument("--json", action="store_true", help="JSON lines")
    ls.add_argument("--role", choices=ROLES)
    add_db_option(ls)
    ls.set_defaults(func=_list)

    pw = actions.add_parser("passwd", help="set a user's password (prompts if omitted)")
    pw.add_argument("name", metavar="NAME")
    pw.add_argument("--password")
    add_db_option(pw)
    pw.set_defaults(func=_passwd)


def service_db(args: argparse.Namespace) -> DatabaseURL:
    from fieldgate.cli import CLIError
    from fieldservice.db.standalone import schema_problem

    db = database_from(args)
    problem = schema_problem(db)
    if problem:
        raise CLIError(problem)
    return db


def service_settings() -> ServiceSettings:
    """``ServiceSettings`` from the ``FIELDGATE_*`` environment, or one clear error line."""
    from pydantic import ValidationError

    from fieldgate.cli import CLIError
    from fieldservice.settings import ServiceSettings

    try:
        return ServiceSettings()
    except ValidationError as exc:
        raise CLIError(validation_message(exc)) from None


def _password(given: str | None) -> str:
    """The password from the option, else prompted twice on the terminal; without a terminal,
    one line from standard input (``echo secret | fieldgate users add ...``)."""
    from fieldgate.cli import CLIError

    if given is not None:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CLIError("no password given (use --password, a terminal, or standard input)")
        return line
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CLIError("the passwords do not match")
    return first


def validation_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors())


def _add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from fieldgate.cli import CLIError
    from fieldservice.schemas.people import UserCreate

    db = service_db(args)
    try:
        data = UserCreate(username=args.name, password=_password(args.password), role=args.role,
                          full_name=args.full_name, zone=args.zone, skills=args.skill)
    except ValidationError as exc:
        raise CLIError(validation_message(exc)) from None
    user_id = asyncio.run(_create(db, data))
    print(f"user {args.name} ({args.role}) created with id {user_id}")
    return 0


async def _create(db: DatabaseURL, data: UserCreate) -> int:
    from fieldgate.cli import CLIError
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.errors import ServiceError
    from fieldservice.passwords import Passwords
    from fieldservice.services.users import create_user

    passwords = Passwords(settings=service_settings())
    async with standalone_session(db, actor=command_line_actor(),
                                  context="fieldgate users add") as session:
        try:
            user = await create_user(session, data=data, passwords=passwords)
        except ServiceError as exc:
            raise CLIError(exc.message) from None
        await session.commit()
        return user.id


def _list(args: argparse.Namespace) -> int:
    db = service_db(args)
    for user in asyncio.run(_users(db, args.role)):
        if args.json:
            print(json.dumps(user, sort_keys=True))
        else:
            state = "active" if user["active"] else "inactive"
            print(f"{user['id']:>5}  {user['username']:<24} {user['role']:<11} {state:<8} "
                  f"{user['zone'] or '-':<12} {','.join(user['skills']) or '-'}")
    return 0


async def _users(db: DatabaseURL, role: str | None) -> list[dict]:
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.roles import Role
    from fieldservice.schemas.people import UserPublic
    from fieldservice.services.users import list_users

    async with standalone_session(db, actor=command_line_actor()) as session:
        page = await list_users(session, role=Role(role) if role else None, active=None,
                                limit=10**6, offset=0)
        return [UserPublic.model_validate(u).model_dump(mode="json") for u in page.items]


def _passwd(args: argparse.Namespace) -> int:
    from fieldgate.cli import CLIError
    from fieldservice.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

    db = service_db(args)
    password = _password(args.password)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise CLIError(f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                       "characters")
    asyncio.run(_set_password(db, args.name, password))
    print(f"password of {args.name} changed")
    return 0


async def _set_password(db: DatabaseURL, name: str, password: str) -> None:
    from fieldgate.cli import CLIError
    from fieldservice.db.standalone import command_line_actor, standalone_session
    from fieldservice.passwords import Passwords
    from fieldservice.services.users import set_password, user_by_name

    async with standalone_session(db, actor=command_line_actor(),
                                  context="fieldgate users passwd") as session:
        user = await user_by_name(session, name)
        if user is None:
            raise CLIError(f"no user {name}")
        await set_password(session, user=user, password=password,
                           passwords=Passwords(settings=service_settings()))
        await session.commit()
