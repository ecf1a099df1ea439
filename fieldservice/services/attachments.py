"""Photos taken on site and the customer's signature, stored with the work order.

Only the order's assignee adds them, while the work is on site or just completed (before the
office closes the order); whoever may read the order may see them. Each addition carries the
order's ``version`` like any field work, and bumps it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from fieldservice.actors import Actor
from fieldservice.errors import InvalidInput, NotFound, TooLarge, UnsupportedMedia
from fieldservice.models import WorkOrderState
from fieldservice.models.attachments import Attachment, AttachmentKind
from fieldservice.services.field_work import assignee_order
from fieldservice.services.work_orders import get_order
from fieldservice.timestamps import utcnow

#: the largest image stored (a tablet camera's JPEG is 2-6 MB)
MAX_BYTES = 12 * 1024 * 1024
#: a signature drawn on the screen, a PNG of the pad's size
MAX_SIGNATURE_BYTES = 1024 * 1024
#: the order's states in which the assignee may add images
STATES = frozenset({WorkOrderState.ON_SITE, WorkOrderState.COMPLETED})


def sniff(data: bytes) -> str | None:
    """The image type the bytes are (never the type a client claims), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _checked(data: bytes, *, limit: int, allowed: frozenset[str], what: str) -> str:
    if not data:
        raise InvalidInput(f"{what}: the file is empty")
    if len(data) > limit:
        raise TooLarge(f"{what}: {len(data):,} bytes, more than the {limit:,} allowed")
    content_type = sniff(data)
    if content_type not in allowed:
        raise UnsupportedMedia(f"{what}: not a {' or '.join(sorted(allowed))} image")
    return content_type


#: what each kind of image may be: (largest size, image types, what the assignee does)
_RULES = {
    AttachmentKind.PHOTO: (MAX_BYTES, frozenset({"image/jpeg", "image/png", "image/webp"}),
                           "add photos"),
    AttachmentKind.SIGNATURE: (MAX_SIGNATURE_BYTES, frozenset({"image/png"}),
                               "take the customer's signature"),
}


async def add_image(session: AsyncSession, *, actor: Actor, order_pk: int, version: int,
                    kind: AttachmentKind, data: bytes, caption: str | None = None,
                    signed_by: str | None = None) -> Attachment:
    """A photo (with an optional caption) or the customer's signature (with who signed)."""
    limit, allowed, what = _RULES[kind]
    if kind is AttachmentKind.SIGNATURE and not (signed_by and signed_by.strip()):
        raise InvalidInput("signed_by: the name of the person who signed is required")
    order = await assignee_order(session, actor=actor, order_pk=order_pk, version=version,
                                 what=what, states=STATES)
    content_type = _checked(data, limit=limit, what=kind.value, allowed=allowed)
    image = Attachment(work_order_pk=order.id, kind=kind, content_type=content_type,
                       size=len(data), data=data, caption=caption or None,
                       signed_by=signed_by.strip() if signed_by else None,
                       created_by=actor.name, created_by_pk=actor.user_pk, created_at=utcnow())
    session.add(image)
    await session.flush()
    return image


async def list_attachments(session: AsyncSession, *, actor: Actor,
                           order_pk: int) -> list[Attachment]:
    order = await get_order(session, order_pk, actor=actor)
    # the bytes stay in the database: a list is metadata
    rows = await session.execute(
        sa.select(Attachment).options(sa.orm.defer(Attachment.data))
        .where(Attachment.work_order_pk == order.id).order_by(Attachment.id))
    return list(rows.scalars())


async def get_attachment(session: AsyncSession, *, actor: Actor, attachment_pk: int) -> Attachment:
    attachment = await session.get(Attachment, attachment_pk)
    if attachment is None:
        raise NotFound(f"attachment {attachment_pk} does not exist")
    await get_order(session, attachment.work_order_pk, actor=actor)  # may the caller see it?
    return attachment
