"""``POST /api/auth/token``: the OAuth2 password flow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from fieldservice.actors import Actor
from fieldservice.api.deps import SessionDep, StateDep
from fieldservice.db import set_actor
from fieldservice.roles import Role
from fieldservice.services.users import authenticate
from fieldservice.timestamps import utcnow

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    expires_at: datetime
    role: Role


@router.post("/token", response_model=Token, summary="Exchange username and password for a "
             "bearer token")
async def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], state: StateDep,
                      session: SessionDep) -> Token:
    user = await authenticate(session, username=form.username, password=form.password,
                              passwords=state.passwords)
    if user is None:
        state.metrics.logins.labels("refused").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    # a rehash on login (cost settings changed) is a change of the user, made by himself
    set_actor(session, Actor(name=user.username, user_pk=user.id, role=user.role),
              context="POST /api/auth/token")
    await session.commit()
    codec = await state.token_codec()
    now = utcnow()
    issued = codec.issue(user_pk=user.id, username=user.username, now=now)
    state.metrics.logins.labels("issued").inc()
    return Token(access_token=issued.token,
                 expires_in=int((issued.expires_at - now).total_seconds()),
                 expires_at=issued.expires_at, role=user.role)
