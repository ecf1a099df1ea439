"""FastAPI dependencies and their ``Annotated`` aliases.

Routes declare who may call them with a role gate, e.g. ``actor: CustomersWriter``: the gate
authenticates the bearer token (401), checks the role against :data:`fieldservice.roles.PERMISSIONS`
(403), names the actor for the audit log, and returns it. The gates' roles are published in the
OpenAPI document as ``x-roles`` (see :mod:`fieldservice.api.openapi`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.api.state import ServiceState, service_state
from fieldservice.db import set_actor
from fieldservice.models import User
from fieldservice.roles import PERMISSIONS, Permission, Role
from fieldservice.schemas.common import MAX_ID
from fieldservice.tokens import InvalidToken, UnknownKey

TOKEN_URL = "/api/auth/token"
#: the largest page a list returns
MAX_PAGE_SIZE = 500
#: the largest offset a list accepts (a 64-bit signed integer in every database)
MAX_OFFSET = 2**63 - 1

oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL)
optional_oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)

StateDep = Annotated[ServiceState, Depends(service_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


async def user_for_token(state: ServiceState, session: AsyncSession, token: str) -> User:
    codec = await state.token_codec()
    try:
        try:
            user_pk, issued = codec.claims(token)
        except UnknownKey:  # signed with a key rotated in after this process read them
            user_pk, issued = (await state.token_codec(reload=True)).claims(token)
    except InvalidToken:
        raise _unauthorized("invalid or expired token") from None
    user = await session.get(User, user_pk)
    if user is None or not user.active:
        raise _unauthorized("the token's user is unknown or deactivated")
    valid_after = user.tokens_valid_after
    if valid_after is not None and (issued is None or issued < valid_after):
        raise _unauthorized("the token was revoked (password, role or account changed): "
                            "sign in again")
    return user


async def current_user(request: Request, state: StateDep, session: SessionDep,
                       token: Annotated[str, Depends(oauth2_scheme)]) -> User:
    user = await user_for_token(state, session, token)
    set_actor(session, Actor(name=user.username, user_pk=user.id, role=user.role),
              context=f"{request.method} {request.url.path}"[:200])
    return user


CurrentUser = Annotated[User, Depends(current_user)]


class RoleGate:
    """A dependency admitting the listed roles; its ``roles`` are read back for OpenAPI."""

    def __init__(self, roles: frozenset[Role], purpose: str) -> None:
        self.roles = roles
        self.purpose = purpose

    async def __call__(self, user: CurrentUser) -> Actor:
        if user.role not in self.roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {user.role} may not {self.purpose} "
                       f"(allowed: {', '.join(sorted(self.roles))})",
            )
        return Actor(name=user.username, user_pk=user.id, role=user.role)


def gate(permission: Permission) -> RoleGate:
    return RoleGate(PERMISSIONS[permission], permission.value.replace("_", " ").replace(".", ": "))


CustomersReader = Annotated[Actor, Depends(gate(Permission.CUSTOMERS_READ))]
CustomersWriter = Annotated[Actor, Depends(gate(Permission.CUSTOMERS_WRITE))]
VehiclesReader = Annotated[Actor, Depends(gate(Permission.VEHICLES_READ))]
VehiclesWriter = Annotated[Actor, Depends(gate(Permission.VEHICLES_WRITE))]
RegistryReader = Annotated[Actor, Depends(gate(Permission.REGISTRY_READ))]
RegistryWriter = Annotated[Actor, Depends(gate(Permission.REGISTRY_WRITE))]
OrdersReader = Annotated[Actor, Depends(gate(Permission.WORK_ORDERS_READ))]
OrdersCreator = Annotated[Actor, Depends(gate(Permission.WORK_ORDERS_CREATE))]
OrdersUpdater = Annotated[Actor, Depends(gate(Permission.WORK_ORDERS_UPDATE))]
FieldWorker = Annotated[Actor, Depends(gate(Permission.FIELD_WORK))]
InstallRequestsReader = Annotated[Actor, Depends(gate(Permission.INSTALL_REQUESTS_READ))]
InstallRequestsCreator = Annotated[Actor, Depends(gate(Permission.INSTALL_REQUESTS_CREATE))]
InstallRequestsDecider = Annotated[Actor, Depends(gate(Permission.INSTALL_REQUESTS_DECIDE))]
TechniciansReader = Annotated[Actor, Depends(gate(Permission.TECHNICIANS_READ))]
AuditReader = Annotated[Actor, Depends(gate(Permission.AUDIT_READ))]
UsersAdmin = Annotated[Actor, Depends(gate(Permission.USERS_ADMIN))]
FleetReader = Annotated[Actor, Depends(gate(Permission.FLEET_READ))]
CommandsReader = Annotated[Actor, Depends(gate(Permission.TERMINAL_COMMANDS_READ))]
CommandsSender = Annotated[Actor, Depends(gate(Permission.TERMINAL_COMMANDS_SEND))]


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> Paging:
    return Paging(limit=limit, offset=offset)


PagingDep = Annotated[Paging, Depends(paging)]

#: a record id in a path: out-of-range ids are a 422, not a database error
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
#: a record id filter in a query string
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
