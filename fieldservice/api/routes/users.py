"""Users (admin), the caller's own account, and technicians with their load."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from fieldservice.api.deps import (
    CurrentUser,
    IdPath,
    PagingDep,
    SessionDep,
    StateDep,
    TechniciansReader,
    UsersAdmin,
)
from fieldservice.models import User
from fieldservice.roles import Role
from fieldservice.schemas.common import Page
from fieldservice.schemas.people import (
    PasswordChange,
    TechnicianPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from fieldservice.services import users as service
from fieldservice.services.records import get_or_404

router = APIRouter(prefix="/api", tags=["users"])


@router.get("/users/me", response_model=UserPublic, summary="The caller's own account")
async def me(user: CurrentUser) -> User:
    return user


@router.post("/users/me/password", status_code=status.HTTP_204_NO_CONTENT,
             summary="Change the caller's own password")
async def change_password(body: PasswordChange, user: CurrentUser, session: SessionDep,
                          state: StateDep) -> None:
    await service.change_own_password(session, user=user, data=body, passwords=state.passwords)
    await session.commit()


@router.get("/users", response_model=Page[UserPublic], summary="List users")
async def list_users(_: UsersAdmin, session: SessionDep, paging: PagingDep,
                     role: Role | None = None, active: bool | None = None) -> Page[UserPublic]:
    page = await service.list_users(session, role=role, active=active, limit=paging.limit,
                                    offset=paging.offset)
    return Page(items=[UserPublic.model_validate(u) for u in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             summary="Create a user")
async def create_user(body: UserCreate, _: UsersAdmin, session: SessionDep,
                      state: StateDep) -> User:
    user = await service.create_user(session, data=body, passwords=state.passwords)
    await session.commit()
    return user


# ":int": the literal paths beside it (report, generate, me) are never read as an id, so
# another method on them is a 405, not a 422 about the id
@router.get("/users/{user_id:int}", response_model=UserPublic, summary="One user")
async def get_user(user_id: IdPath, _: UsersAdmin, session: SessionDep) -> User:
    return await get_or_404(session, User, user_id, "user")


@router.patch("/users/{user_id:int}", response_model=UserPublic,
              summary="Change a user: role, active, password, skills, zone...")
async def update_user(user_id: IdPath, body: UserUpdate, actor: UsersAdmin, session: SessionDep,
                      state: StateDep) -> User:
    user = await service.update_user(session, actor=actor, user_pk=user_id, data=body,
                                     passwords=state.passwords)
    await session.commit()
    return user


@router.get("/technicians", response_model=list[TechnicianPublic],
            summary="Field staff with skills, zone and current load, least loaded first")
async def technicians(_: TechniciansReader, session: SessionDep,
                      skill: Annotated[str | None, Query(max_length=40)] = None,
                      zone: Annotated[str | None, Query(max_length=200)] = None,
                      ) -> list[TechnicianPublic]:
    loads = await service.technicians(session, skill=skill, zone=zone)
    return [TechnicianPublic(**UserPublic.model_validate(t.user).model_dump(),
                             active_orders=t.active_orders, orders_by_state=t.orders_by_state)
            for t in loads]
