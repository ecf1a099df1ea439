"""Declarative base and the mixins every business record shares."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from fieldservice.db.types import UTCDateTime
from fieldservice.timestamps import utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        date: sa.Date(),
        dict[str, Any]: sa.JSON(),
        list[str]: sa.JSON(),
    }


class Audited:
    """Marker: every insert and update of this record is written to the audit log, and it may
    never be deleted (see :mod:`fieldservice.db.audit`)."""

    #: columns whose values the audit log must not show (it records that they changed)
    __audit_redact__: ClassVar[frozenset[str]] = frozenset()
    #: columns whose changes are noise in the audit log
    __audit_ignore__: ClassVar[frozenset[str]] = frozenset({"updated_at", "version"})


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Versioned:
    """Optimistic concurrency: SQLAlchemy bumps ``version`` on every UPDATE and adds
    ``WHERE version = <the value read>``; a concurrent change makes the UPDATE match no row
    (StaleDataError, answered 409)."""

    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (declarative directive)
        # __table__ exists on the mapped subclasses this directive runs for, not on the mixin
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]
