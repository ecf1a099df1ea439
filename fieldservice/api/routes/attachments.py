"""Photos and the customer's signature on a work order (multipart uploads), and their images."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import Response

from fieldservice.api.deps import FieldWorker, IdPath, OrdersReader, SessionDep
from fieldservice.models.attachments import AttachmentKind
from fieldservice.schemas.attachments import AttachmentPublic
from fieldservice.schemas.common import NOT_BLANK, Text
from fieldservice.services import attachments as service

router = APIRouter(tags=["work orders"])

Version = Annotated[int, Form(ge=1, description="the work order's version as last read")]


async def _read(upload: UploadFile, limit: int) -> bytes:
    # one byte more than allowed tells "too large" without reading a huge upload whole
    return await upload.read(limit + 1)


@router.get("/api/work-orders/{order_id}/attachments", response_model=list[AttachmentPublic],
            summary="Photos and signatures of the order (metadata; the image at its url)")
async def list_attachments(order_id: IdPath, actor: OrdersReader,
                           session: SessionDep) -> list[AttachmentPublic]:
    found = await service.list_attachments(session, actor=actor, order_pk=order_id)
    return [AttachmentPublic.of(a) for a in found]


@router.post("/api/work-orders/{order_id}/photos", response_model=AttachmentPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Add a photo taken on site: JPEG, PNG or WebP (assignee)")
async def add_photo(order_id: IdPath, version: Version,
                    file: Annotated[UploadFile, File(description="the image")],
                    actor: FieldWorker, session: SessionDep,
                    caption: Annotated[Text | None, Form()] = None) -> AttachmentPublic:
    data = await _read(file, service.MAX_BYTES)
    photo = await service.add_image(session, actor=actor, order_pk=order_id, version=version,
                                    kind=AttachmentKind.PHOTO, data=data, caption=caption)
    await session.commit()
    return AttachmentPublic.of(photo)


@router.post("/api/work-orders/{order_id}/signature", response_model=AttachmentPublic,
             status_code=status.HTTP_201_CREATED,
             summary="Store the customer's signature drawn on the screen: PNG (assignee)")
async def add_signature(order_id: IdPath, version: Version,
                        file: Annotated[UploadFile, File(description="the signature, PNG")],
                        signed_by: Annotated[str, Form(min_length=1, max_length=128,
                                                       pattern=NOT_BLANK,
                                                       description="who signed")],
                        actor: FieldWorker, session: SessionDep) -> AttachmentPublic:
    data = await _read(file, service.MAX_SIGNATURE_BYTES)
    signature = await service.add_image(session, actor=actor, order_pk=order_id,
                                        version=version, kind=AttachmentKind.SIGNATURE,
                                        data=data, signed_by=signed_by)
    await session.commit()
    return AttachmentPublic.of(signature)


@router.get("/api/attachments/{attachment_id}", response_class=Response,
            summary="The image of a photo or signature",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
async def get_attachment(attachment_id: IdPath, actor: OrdersReader,
                         session: SessionDep) -> Response:
    a = await service.get_attachment(session, actor=actor, attachment_pk=attachment_id)
    # nosniff, as on every answer: fieldservice.api.security
    return Response(a.data, media_type=a.content_type,
                    headers={"Cache-Control": "private, max-age=86400"})
