"""Users: creation, updates, authentication, and technicians with their load."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import Conflict, PermissionDenied
from fieldservice.models import ACTIVE_STATES, User, WorkOrder
from fieldservice.passwords import Passwords
from fieldservice.roles import FIELD_ROLES, Role
from fieldservice.schemas.people import PasswordChange, UserCreate, UserUpdate
from fieldservice.services.records import Page, apply_changes, check_version, get_or_404, paginate
from fieldservice.timestamps import utcnow


async def user_by_name(session: AsyncSession, username: str) -> User | None:
    return (await session.execute(
        sa.select(User).where(User.username == username)
    )).scalars().first()


async def create_user(session: AsyncSession, *, data: UserCreate,
                      passwords: Passwords) -> User:
    if await user_by_name(session, data.username) is not None:
        raise Conflict(f"username {data.username!r} is taken")
    user = User(
        username=data.username, password_hash=await passwords.hash_async(data.password),
        role=data.role, full_name=data.full_name, phone=data.phone, skills=list(data.skills),
        zone=data.zone, active=True,
    )
    session.add(user)
    await session.flush()
    return user


async def update_user(session: AsyncSession, *, actor: Actor, user_pk: int, data: UserUpdate,
                      passwords: Passwords) -> User:
    user = await get_or_404(session, User, user_pk, "user")
    check_version(user, data.version, f"user {user.username}")
    changes = data.changes()
    if user.id == actor.user_pk and (changes.get("active") is False
                                     or changes.get("role", Role.ADMIN) is not Role.ADMIN):
        # the last way back in would be the CLI: refuse locking oneself out by accident
        raise Conflict("you cannot deactivate yourself or drop your own admin role")
    password = changes.pop("password", None)
    if password is not None:
        user.password_hash = await passwords.hash_async(password)
    revoke = password is not None or (
        "role" in changes and changes["role"] != user.role) or (
        "active" in changes and changes["active"] != user.active)
    apply_changes(user, changes)
    if revoke:
        revoke_tokens(user)
    await session.flush()
    return user


def revoke_tokens(user: User) -> None:
    """Refuse every token issued to ``user`` until now (a new sign-in gets a fresh one).
    Tokens carry their issue time to the millisecond: the cut is on a whole millisecond, so a
    token issued just after it is never taken for one issued before."""
    now = utcnow()
    user.tokens_valid_after = now.replace(microsecond=now.microsecond // 1000 * 1000)


async def set_password(session: AsyncSession, *, user: User, password: str,
                       passwords: Passwords) -> None:
    user.password_hash = await passwords.hash_async(password)
    revoke_tokens(user)
    await session.flush()


async def change_own_password(session: AsyncSession, *, user: User, data: PasswordChange,
                              passwords: Passwords) -> None:
    if not await passwords.verify_async(user.password_hash, data.current_password):
        raise PermissionDenied("the current password is wrong")
    await set_password(session, user=user, password=data.new_password, passwords=passwords)


async def authenticate(session: AsyncSession, *, username: str, password: str,
                       passwords: Passwords) -> User | None:
    """The active user with these credentials, or None. Upgrades the hash when the cost
    settings changed since it was made (the caller commits)."""
    user = await user_by_name(session, username)
    ok = await passwords.verify_async(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        # left unflushed: the caller names the user as actor, then commits
        user.password_hash = await passwords.hash_async(password)
    return user


async def list_users(session: AsyncSession, *, role: Role | None, active: bool | None,
                     limit: int, offset: int) -> Page[User]:
    stmt = sa.select(User).order_by(User.username)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    return await paginate(session, stmt, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class TechnicianLoad:
    user: User
    orders_by_state: dict[str, int]

    @property
    def active_orders(self) -> int:
        return sum(self.orders_by_state.get(s.value, 0) for s in ACTIVE_STATES)


async def technicians(session: AsyncSession, *, skill: str | None = None,
                      zone: str | None = None,
                      include_inactive: bool = False) -> list[TechnicianLoad]:
    """Field staff with their current orders, least loaded first (the dispatcher's view)."""
    stmt = sa.select(User).where(User.role.in_(FIELD_ROLES)).order_by(User.username)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    if zone is not None:
        stmt = stmt.where(User.zone == zone)
    users = [u for u in (await session.execute(stmt)).scalars()
             if skill is None or skill in (u.skills or [])]
    counts: dict[int, Counter[str]] = {u.id: Counter() for u in users}
    if users:
        rows = await session.execute(
            sa.select(WorkOrder.assignee_pk, WorkOrder.state, sa.func.count())
            .where(WorkOrder.assignee_pk.in_(counts), WorkOrder.state.in_(ACTIVE_STATES))
            .group_by(WorkOrder.assignee_pk, WorkOrder.state)
        )
        for assignee, state, n in rows:
            if assignee is not None:  # the IN above admits none; the column is nullable
                counts[assignee][state.value] = n
    loads = [TechnicianLoad(user=u, orders_by_state=dict(counts[u.id])) for u in users]
    return sorted(loads, key=lambda t: (t.active_orders, t.user.username))
