"""``Idempotency-Key``: a change sent twice is made once.

A client that cannot know whether its request arrived (the tablet's connection dropped while
the answer was on its way) sends the same request again with the same ``Idempotency-Key``
header. The first request with a key is processed and its answer kept (table
``idempotency_keys``, shared by every API process); a later one with the same key, method, path
and credentials gets that answer again, marked ``Idempotent-Replayed: true``, without being
processed. A repeat that arrives while the first is still being processed gets ``409``. Server
errors (5xx) are not kept: the client may try again. Kept answers expire after
:data:`KEEP` (a day): a replay later than that is processed afresh (and the work orders' version
check refuses a stale change).

Only unsafe methods (POST, PUT, PATCH, DELETE) with a key are touched; everything else passes
through. Keys are 8 to 128 characters of letters, digits, ``-`` and ``_``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldservice.api.errors import error_content
from fieldservice.models.tables import idempotency_keys
from fieldservice.timestamps import utcnow

HEADER = b"idempotency-key"
KEEP = timedelta(days=1)
#: how often one process deletes the expired answers
PRUNE_EVERY_S = 60.0
_KEY = re.compile(rb"[A-Za-z0-9_\-]{8,128}")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: answers larger than this are not kept (images are uploaded, not answered)
MAX_BODY = 256 * 1024
IN_PROGRESS = 0


def _scope_key(scope: Scope, key: bytes) -> str:
    headers = dict(scope.get("headers") or [])
    credentials = headers.get(b"authorization", b"")
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), credentials, key):
        digest.update(len(part).to_bytes(4, "big") + part)
    return digest.hexdigest()


def _json(status: int, detail: str,
          code: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(error_content(detail, code)).encode()
    return status, [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())], body


class IdempotencyMiddleware:
    """Args:
    app: the ASGI app.
    engine: where the kept answers live (the service's database).
    """

    def __init__(self, app: ASGIApp, *, engine: Any) -> None:
        self.app = app
        self.engine_of = engine  # a callable: the engine exists once the app state does
        self._pruned_at = float("-inf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE:
            await self.app(scope, receive, send)
            return
        key = dict(scope.get("headers") or []).get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            await self._answer(send, *_json(
                422, "Idempotency-Key: 8 to 128 letters, digits, '-' or '_'", "invalid"))
            return
        engine: AsyncEngine = self.engine_of()
        scoped = _scope_key(scope, key)
        kept = await self._claim(engine, scoped)
        if kept is not None:
            status, headers, body = kept
            if status == IN_PROGRESS:
                await self._answer(send, *_json(
                    409, "a request with this Idempotency-Key is still being processed",
                    "in_progress"))
                return
            await self._answer(send, status, [*headers, (b"idempotent-replayed", b"true")],
                               body)
            return
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers") or [])
            elif message["type"] == "http.response.body" and len(captured["body"]) <= MAX_BODY:
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await self._keep(engine, scoped, captured)

    async def _claim(self, engine: AsyncEngine,
                     scoped: str) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Take the key (None: ours to process) or return what it holds."""
        now = utcnow()
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:  # not a write per request
            self._pruned_at = time.monotonic()
            async with engine.begin() as conn:
                await conn.execute(idempotency_keys.delete().where(
                    idempotency_keys.c.created_at < now - KEEP))
        try:
            async with engine.begin() as conn:
                await conn.execute(idempotency_keys.insert().values(
                    key=scoped, status=IN_PROGRESS, headers="[]", body=b"", created_at=now))
            return None
        except IntegrityError:
            async with engine.connect() as conn:
                row = (await conn.execute(sa.select(
                    idempotency_keys.c.status, idempotency_keys.c.headers,
                    idempotency_keys.c.body, idempotency_keys.c.created_at).where(
                    idempotency_keys.c.key == scoped))).first()
            if row is not None and row.created_at < now - KEEP:  # expired, not yet pruned
                async with engine.begin() as conn:
                    await conn.execute(idempotency_keys.delete().where(
                        idempotency_keys.c.key == scoped,
                        idempotency_keys.c.created_at < now - KEEP))
                row = None
            if row is None:  # pruned between the two statements: ours after all
                return await self._claim(engine, scoped)
            headers = [(k.encode("latin-1"), v.encode("latin-1"))
                       for k, v in json.loads(row.headers)]
            return row.status, headers, bytes(row.body)

    async def _keep(self, engine: AsyncEngine, scoped: str, captured: dict[str, Any]) -> None:
        status = captured["status"]
        body = bytes(captured["body"])
        async with engine.begin() as conn:
            if status >= 500 or len(body) > MAX_BODY:
                # not kept: the client may try again (nothing was done, or it is too big)
                await conn.execute(idempotency_keys.delete().where(
                    idempotency_keys.c.key == scoped))
                return
            headers = [(k.decode("latin-1"), v.decode("latin-1"))
                       for k, v in captured["headers"]
                       if k.lower() in (b"content-type", b"content-length", b"location")]
            await conn.execute(idempotency_keys.update().where(
                idempotency_keys.c.key == scoped).values(
                status=status, headers=json.dumps(headers), body=body))

    @staticmethod
    async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]],
                      body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
