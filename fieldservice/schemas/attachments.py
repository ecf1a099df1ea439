"""Photos and signatures of a work order, as the API shows them (never their bytes: those are
at ``GET /api/attachments/{id}``)."""

from __future__ import annotations

from datetime import datetime

from fieldservice.models.attachments import Attachment, AttachmentKind
from fieldservice.schemas.common import Public


class AttachmentPublic(Public):
    id: int
    work_order_id: int
    kind: AttachmentKind
    content_type: str
    size: int
    caption: str | None
    signed_by: str | None
    created_by: str
    created_at: datetime
    #: where the image is (with the same bearer token)
    url: str

    @classmethod
    def of(cls, a: Attachment) -> AttachmentPublic:
        return cls(id=a.id, work_order_id=a.work_order_pk, kind=a.kind,
                   content_type=a.content_type, size=a.size, caption=a.caption,
                   signed_by=a.signed_by, created_by=a.created_by, created_at=a.created_at,
                   url=f"/api/attachments/{a.id}")
