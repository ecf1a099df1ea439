"""``/health`` (no token) and ``/metrics`` (Prometheus text; a token unless configured open)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fieldservice.api.deps import SessionDep, StateDep, optional_oauth2_scheme, user_for_token

router = APIRouter(tags=["operations"])

#: a health probe must answer quickly even when the database hangs
HEALTH_DB_TIMEOUT_S = 2.0


@router.get("/health", summary="Liveness and database reachability (no token needed)")
async def health(state: StateDep) -> JSONResponse:
    try:
        async with asyncio.timeout(HEALTH_DB_TIMEOUT_S):
            async with state.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means the same to a probe: not ready
        return JSONResponse({"status": "degraded", "database": f"unreachable: "
                             f"{type(exc).__name__}"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "kind": state.db.kind.value})


@router.get("/metrics", summary="Prometheus metrics (text exposition format)",
            response_class=Response)
async def metrics(state: StateDep, session: SessionDep,
                  token: Annotated[str | None, Depends(optional_oauth2_scheme)]) -> Response:
    if not state.settings.metrics_public:
        static = state.settings.metrics_token
        if token is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated",
                                headers={"WWW-Authenticate": "Bearer"})
        if static is None or not hmac.compare_digest(token.encode(),
                                                        static.get_secret_value().encode()):
            await user_for_token(state, session, token)  # any logged-in user may read them
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
