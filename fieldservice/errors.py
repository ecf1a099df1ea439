"""Errors of the service layer, translated to HTTP status codes at the API boundary.

::

    ServiceError
    ├── NotFound              404  a record the caller named does not exist
    ├── PermissionDenied      403  the caller's role or identity may not do this
    ├── InvalidInput          422  the request names things that cannot be used as given
    └── Conflict              409  the request clashes with the current state of the records
        ├── StaleVersion            someone changed the record since the caller read it
        ├── TransitionRefused       a work-order transition is not allowed yet (with reasons)
        └── Refused                 another record's step is not allowed yet (with reasons)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Reason(str):
    """Why something is refused: the English sentence (the string itself), plus a stable
    ``code`` and the ``params`` it names, so that a client can say it in its user's language
    (the web app's ``refusal.<code>`` strings). Params are strings or lists of strings; their
    names say what they hold (``state``, ``states``, ``action``, ``role``, ``fields``, ``at``...).
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, text: str, **params: Any) -> Reason:
        self = super().__new__(cls, text)
        self.code = code
        self.params = params
        return self


def refusal(reason: str) -> dict[str, Any]:
    """A reason as the API answers it: ``{"code", "params", "message"}``; a plain string
    (a guard that gives no code) is ``other``, said in English only."""
    if isinstance(reason, Reason):
        return {"code": reason.code, "params": reason.params, "message": str(reason)}
    return {"code": "other", "params": {}, "message": str(reason)}


class ServiceError(Exception):
    """Base of every error the service layer raises on purpose."""

    status_code = 400
    #: what kind of error it is, for clients (the ``code`` of every error body, docs/api.md)
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status_code = 403
    code = "forbidden"


class InvalidInput(ServiceError):
    status_code = 422
    code = "invalid"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"

    def __init__(self, what: str, *, current: int | None, sent: int | None) -> None:
        if current is None:
            message = f"{what} was changed by someone else meanwhile; reload it and retry"
        else:
            message = (f"{what} was changed by someone else (it is at version {current}, "
                       f"you sent {sent}); reload it and retry")
        super().__init__(message)
        self.current = current
        self.sent = sent


class TransitionRefused(Conflict):
    code = "refused"

    def __init__(self, *, order: str, action: str, reasons: Sequence[str]) -> None:
        self.order = order
        self.action = action
        self.reasons = list(reasons)
        super().__init__(f"cannot {action} {order}: " + "; ".join(self.reasons))


class Refused(Conflict):
    """A step on a complaint, fault report or payment refused by its guards."""

    code = "refused"

    def __init__(self, *, what: str, action: str, reasons: Sequence[str]) -> None:
        self.what = what
        self.action = action
        self.reasons = list(reasons)
        super().__init__(f"cannot {action} {what}: " + "; ".join(self.reasons))


class TooLarge(ServiceError):
    status_code = 413
    code = "too_large"


class UnsupportedMedia(ServiceError):
    status_code = 415
    code = "unsupported_media"
