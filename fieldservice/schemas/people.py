"""Users, technicians and customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from fieldservice.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from fieldservice.roles import Role
from fieldservice.schemas.common import Body, Name, Phone, Public, Tag, Text, UpdateBody, Username


def _password(**kwargs: Any) -> Any:
    return Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, **kwargs)


class UserCreate(Body):
    username: Username
    password: str = _password()
    role: Role
    full_name: Name | None = None
    phone: Phone | None = None
    skills: list[Tag] = Field(default_factory=list, max_length=50)
    zone: Name | None = None


class UserUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"role", "active", "password", "skills"})

    full_name: Name | None = None
    role: Role | None = None
    active: bool | None = None
    password: str | None = _password(default=None)
    phone: Phone | None = None
    skills: list[Tag] | None = Field(default=None, max_length=50)
    zone: Name | None = None


class PasswordChange(Body):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = _password()


class UserPublic(Public):
    id: int
    username: str
    full_name: str | None
    role: Role
    active: bool
    phone: str | None
    skills: list[str]
    zone: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class TechnicianPublic(UserPublic):
    #: orders assigned, en route or on site
    active_orders: int
    orders_by_state: dict[str, int]


class CustomerCreate(Body):
    company: Name
    contact_name: Name | None = None
    phone: Phone | None = None
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    address: Text | None = None
    notes: Text | None = None


class CustomerUpdate(UpdateBody):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"company", "active"})

    company: Name | None = None
    contact_name: Name | None = None
    phone: Phone | None = None
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    address: Text | None = None
    notes: Text | None = None
    active: bool | None = None


class CustomerPublic(Public):
    id: int
    company: str
    contact_name: str | None
    phone: str | None
    email: str | None
    address: str | None
    notes: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int
