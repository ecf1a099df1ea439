"""Users of the system and the customers it serves."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldservice.db.types import UTCDateTime
from fieldservice.models.base import Audited, Base, Timestamped, Versioned
from fieldservice.models.enums import enum_column
from fieldservice.roles import Role


class User(Audited, Timestamped, Versioned, Base):
    __tablename__ = "users"
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str | None] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, 16))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    #: free-form skill tags the dispatcher matches against an order ("install", "can-bus"...)
    skills: Mapped[list[str]] = mapped_column(default=list)
    zone: Mapped[str | None] = mapped_column(sa.String(64))
    #: tokens issued before this are refused (set by a password, role or activity change)
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Customer(Audited, Timestamped, Versioned, Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(sa.String(200))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
