"""Error responses: service errors keep their status code; clashes found by the database
(a concurrent update, a unique index) are 409; bad bodies are 422 with a readable message."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from fieldservice.errors import Refused, ServiceError, StaleVersion, TransitionRefused, refusal


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def validation_message(errors: list[dict[str, Any]]) -> str:
    """``body.vehicles.0.plate: Field required; query.limit: ...``"""
    return "; ".join(f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}"
                     for e in errors)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    body: dict[str, Any] = {"detail": exc.message}
    if isinstance(exc, TransitionRefused):
        body.update(action=exc.action, order=exc.order, reasons=exc.reasons,
                    refusals=[refusal(r) for r in exc.reasons])
        metrics = request.app.state.fieldservice.metrics
        metrics.refusals.labels(exc.action).inc()
    if isinstance(exc, Refused):
        body.update(action=exc.action, reasons=exc.reasons,
                    refusals=[refusal(r) for r in exc.reasons])
    if isinstance(exc, StaleVersion):
        body.update(current_version=exc.current)
    return JSONResponse(body, status_code=exc.status_code)


async def _stale(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "the record was changed by someone else meanwhile; reload it and retry"},
        status_code=409,
    )


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    # the message names no SQL; services pre-check the common cases with clearer words, so
    # this is the race in which a concurrent request won
    return JSONResponse(
        {"detail": "the change conflicts with a record stored meanwhile (a unique or "
                   "reference constraint); reload and retry"},
        status_code=409,
    )


async def _data(_request: Request, _exc: Exception) -> JSONResponse:
    # the schemas bound every field; this is the net under them (a value the column refuses)
    return JSONResponse({"detail": "a value is out of range or of the wrong kind for the "
                                   "database", "message": "invalid value"}, status_code=422)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # "input" is left out: it would echo passwords back
    errors = jsonable_encoder(exc.errors(), exclude={"ctx", "url", "input"})
    return JSONResponse({"detail": errors, "message": validation_message(errors)},
                        status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(RequestValidationError, _validation)
