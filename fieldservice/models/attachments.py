"""Photos taken on site and the customer's signature, stored with their work order."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from fieldservice.models.base import Audited, Base
from fieldservice.models.enums import enum_column


class AttachmentKind(enum.StrEnum):
    PHOTO = "photo"
    SIGNATURE = "signature"  #: drawn by the customer on the technician's screen


class Attachment(Audited, Base):
    """An image of a work order. Never changed nor deleted: a wrong photo stays, with the
    right one after it (the audit log shows who added which)."""

    __tablename__ = "work_order_attachments"
    #: the image bytes: the audit log records that they were stored, not what they are
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"data"})

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_pk: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(enum_column(AttachmentKind, 16))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    caption: Mapped[str | None] = mapped_column(sa.Text)
    #: signature: the name of the person who signed, as they gave it
    signed_by: Mapped[str | None] = mapped_column(sa.String(128))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_by_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
