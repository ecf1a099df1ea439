"""The audit log: one row per inserted or updated record, with field values before/after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldservice.db.types import BigIntPK
from fieldservice.models.base import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime]
    actor_pk: Mapped[int | None]  #: users.id, or NULL for the CLI and system actors
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    entity: Mapped[str] = mapped_column(sa.String(64))  #: table name
    entity_pk: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(16))  #: create / update
    #: field -> [before, after] (JSON values; redacted fields show "***")
    changes: Mapped[dict[str, Any]]
    context: Mapped[str | None] = mapped_column(sa.String(200))
