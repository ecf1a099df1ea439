"""``POST /api/auth/token``: the OAuth2 password flow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from fieldservice.actors import Actor
from fieldservice.api.deps import SessionDep, StateDep
from fieldservice.api.errors import error_response
from fieldservice.db import set_actor
from fieldservice.roles import Role
from fieldservice.services import login_throttle as throttle
from fieldservice.services.users import authenticate
from fieldservice.timestamps import utcnow

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    expires_at: datetime
    role: Role


def _too_many(lock: throttle.Locked, now: datetime) -> JSONResponse:
    seconds = lock.retry_after_s(now)
    minutes = max(1, -(-seconds // 60))
    return error_response(status.HTTP_429_TOO_MANY_REQUESTS,
                          f"too many failed sign-ins: try again in {minutes} min",
                          headers={"Retry-After": str(seconds)}, retry_after_s=seconds)


class SignInForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, with a user name and a password that are not empty (FastAPI
    reads an empty form field as a missing one: the document says so)."""

    def __init__(self, *, username: Annotated[str, Form(min_length=1)],
                 password: Annotated[str, Form(min_length=1,
                                               json_schema_extra={"format": "password"})],
                 grant_type: Annotated[str, Form(pattern="^password$")] = "password",
                 scope: Annotated[str, Form()] = "",
                 client_id: Annotated[str | None, Form()] = None,
                 client_secret: Annotated[str | None, Form(json_schema_extra={
                     "format": "password"})] = None) -> None:
        super().__init__(grant_type=grant_type, username=username, password=password,
                         scope=scope, client_id=client_id, client_secret=client_secret)


@router.post("/token", response_model=Token, summary="Exchange username and password for a "
             "bearer token",
             responses={429: {"description": "too many failed sign-ins for this user name or "
                                             "client address (Retry-After says when to retry)"}})
async def issue_token(form: Annotated[SignInForm, Depends()], state: StateDep,
                      session: SessionDep, request: Request) -> Token | JSONResponse:
    now = utcnow()
    address = request.client.host if request.client else None
    lock = await throttle.locked(session, username=form.username, address=address, now=now)
    if lock is not None:
        # refused before the password is even checked: a locked name cannot be guessed at
        state.metrics.logins.labels("throttled").inc()
        return _too_many(lock, now)
    user = await authenticate(session, username=form.username, password=form.password,
                              passwords=state.passwords)
    if user is None:
        state.metrics.logins.labels("refused").inc()
        caused = await throttle.failed(session, username=form.username, address=address,
                                       now=now, settings=state.settings)
        await session.commit()
        if caused is not None:
            return _too_many(caused, now)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    # a rehash on login (cost settings changed) is a change of the user, made by himself
    set_actor(session, Actor(name=user.username, user_pk=user.id, role=user.role),
              context="POST /api/auth/token")
    await throttle.succeeded(session, username=form.username)
    await session.commit()
    codec = await state.token_codec()
    issued = codec.issue(user_pk=user.id, username=user.username, now=utcnow())
    state.metrics.logins.labels("issued").inc()
    return Token(access_token=issued.token,
                 expires_in=int((issued.expires_at - now).total_seconds()),
                 expires_at=issued.expires_at, role=user.role)
