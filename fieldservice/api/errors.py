"""One error body for every 4xx the API answers (docs/api.md, "Errors").

``{"detail": str, "code": str, ...}``: ``detail`` is a readable English sentence, ``code`` says
what kind of error it is for a client to act on. Bad requests (422 ``validation``) add
``errors``, one per field, each with the field's place (``loc``), message, pydantic error
``type`` and its simple parameters (``ctx``) so that a client can word it in its own language.
Refused steps (409 ``refused``) add ``refusals`` with codes; a stale version (409
``stale_version``) adds ``current_version``; throttled sign-ins (429) add ``retry_after_s``.

Service errors keep their status code; clashes found by the database (a concurrent update, a
unique index) are 409; FastAPI's and Starlette's own HTTP errors (401, 404, 405...) are put in
the same shape. The OpenAPI document says so on every operation (:func:`document_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fieldservice.errors import Refused, ServiceError, StaleVersion, TransitionRefused, refusal

Scalar = str | int | float | bool | None


class FieldError(BaseModel):
    """One field's problem in a 422 ``validation`` answer."""

    loc: list[str | int] = Field(description="where: `body`/`query`/`path`/`header`, then "
                                             "the field's path")
    msg: str = Field(description="the problem in English")
    type: str = Field(description="pydantic's error type (`missing`, `string_too_long`...) "
                                  "or fieldgate's own (`amount_places`...)")
    ctx: dict[str, Scalar] | None = Field(None, description="the type's parameters "
                                                            "(`max_length`, `ge`...)")


class RefusalBody(BaseModel):
    code: str
    params: dict[str, Any]
    message: str


class ErrorBody(BaseModel):
    """Every 4xx answer of the API."""

    detail: str = Field(description="what went wrong, in English")
    code: str = Field(description="the kind of error: `validation`, `invalid`, "
                                  "`unauthorized`, `forbidden`, `not_found`, `conflict`, "
                                  "`stale_version`, `refused`, `too_many_requests`...")
    errors: list[FieldError] | None = Field(None, description="`validation`: each field's "
                                                              "problem")
    action: str | None = Field(None, description="`refused`: the step refused")
    order: str | None = Field(None, description="`refused` on a work order: its number")
    reasons: list[str] | None = Field(None, description="`refused`: the reasons in English")
    refusals: list[RefusalBody] | None = Field(None, description="`refused`: the reasons "
                                                                 "with codes and parameters")
    current_version: int | None = Field(None, description="`stale_version`: the version now "
                                                          "stored")
    retry_after_s: int | None = Field(None, description="`too_many_requests`: seconds to "
                                                        "wait (also `Retry-After`)")


#: the code of an HTTP error raised by FastAPI, Starlette or a route, by status
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large",
                 415: "unsupported_media", 422: "invalid", 429: "too_many_requests",
                 503: "unavailable"}


def status_code_name(status: int) -> str:
    return _STATUS_CODES.get(status, f"http_{status}")


def error_content(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    """The error body as JSON-ready data (``extra``: the optional members of ErrorBody)."""
    body: dict[str, Any] = {"detail": detail, "code": code}
    body.update((k, v) for k, v in extra.items() if v is not None)
    return body


def error_response(status: int, detail: str, code: str | None = None, *,
                   headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_content(detail, code or status_code_name(status), **extra),
                        status_code=status, headers=dict(headers) if headers else None)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def validation_message(errors: list[dict[str, Any]]) -> str:
    """``body.vehicles.0.plate: Field required; query.limit: ...``"""
    return "; ".join(f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}"
                     for e in errors)


def _plain(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < 2**63
    return isinstance(value, str | float | bool)


def _field_error(error: Mapping[str, Any]) -> dict[str, Any]:
    # "input" is left out: it would echo passwords back; of "ctx" only plain values (a
    # validator's exception object is in its "msg" already)
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if _plain(v)}
    found: dict[str, Any] = {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")),
                             "type": str(error.get("type", "invalid"))}
    if ctx:
        found["ctx"] = ctx
    return found


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    extra: dict[str, Any] = {}
    if isinstance(exc, TransitionRefused):
        extra.update(action=exc.action, order=exc.order, reasons=exc.reasons,
                     refusals=[refusal(r) for r in exc.reasons])
        metrics = request.app.state.fieldservice.metrics
        metrics.refusals.labels(exc.action).inc()
    if isinstance(exc, Refused):
        extra.update(action=exc.action, reasons=exc.reasons,
                     refusals=[refusal(r) for r in exc.reasons])
    if isinstance(exc, StaleVersion):
        extra.update(current_version=exc.current)
    return error_response(exc.status_code, exc.message, exc.code, **extra)


async def _stale(_request: Request, _exc: Exception) -> JSONResponse:
    return error_response(409, "the record was changed by someone else meanwhile; reload it "
                               "and retry", "stale_version")


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    # the message names no SQL; services pre-check the common cases with clearer words, so
    # this is the race in which a concurrent request won
    return error_response(409, "the change conflicts with a record stored meanwhile (a unique "
                               "or reference constraint); reload and retry", "conflict")


async def _data(_request: Request, _exc: Exception) -> JSONResponse:
    # the schemas bound every field; this is the net under them (a value the column refuses)
    return error_response(422, "a value is out of range or of the wrong kind for the "
                               "database", "invalid")


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(e) for e in jsonable_encoder(exc.errors(), exclude={"input", "url"},
                                                        custom_encoder={Exception: str})]
    return error_response(422, validation_message(errors), "validation", errors=errors)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # the router names the methods of the first route that matched the path only
        allowed = _allowed_methods(request.app, request.url.path)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return error_response(exc.status_code, str(exc.detail), headers=headers)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document gives for ``path``: those of the templates that match
    it with the most literal segments (``/complaints/report`` is not ``/complaints/{id}``)."""
    templates: list[tuple[re.Pattern[str], int, list[str]]] | None = getattr(
        app.state, "path_templates", None)
    if templates is None:
        templates = app.state.path_templates = []
        for template, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            literal = sum(1 for part in template.split("/") if not part.startswith("{"))
            templates.append((re.compile(pattern), literal,
                              [m.upper() for m in operations if m in _METHODS]))
    matching = [(literal, methods) for regex, literal, methods in templates
                if regex.fullmatch(path)]
    best = max((literal for literal, _ in matching), default=0)
    return sorted({m for literal, methods in matching if literal == best for m in methods})


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    document_errors(app)


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_JSON_ERROR = {"application/json": {"schema": _ERROR_REF}}
_DESCRIPTIONS = {"422": "The request is invalid: `errors` says which fields and why "
                        "(`code` `validation`), or a value was refused (`invalid`)",
                 "4XX": "Any other client error, in the same shape: not signed in (401), a "
                        "role that may not (403), not found (404), a conflict or a refused "
                        "step (409), a file too large or of the wrong kind (413, 415), too "
                        "many failed sign-ins (429)"}


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what the handlers answer: every operation's 4xx
    responses carry :class:`ErrorBody`, and a ``4XX`` entry covers the statuses an operation
    can answer besides the ones it lists."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        definitions = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(definitions.pop("$defs", {}))
        components["ErrorBody"] = definitions
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("422", {})
                responses.setdefault("4XX", {})
                for status, response in responses.items():
                    if status.startswith("4"):
                        response["content"] = _JSON_ERROR
                        response["description"] = (_DESCRIPTIONS.get(status)
                                                   or response.get("description", ""))
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
