"""Audit log written by the session itself, so no code path can forget it.

Every flush of an :class:`AuditedSession` writes one ``audit_log`` row per inserted or updated
:class:`~fieldservice.models.base.Audited` record, with the changed fields' values before and
after, in the same transaction. A flush that would change records without an actor
(``session.info["actor"]``), or delete an audited record, is refused: records are retired
through their state or ``active`` flag, never deleted.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.state import InstanceState

from fieldservice.actors import Actor
from fieldservice.timestamps import utcnow

REDACTED = "***"


class AuditError(RuntimeError):
    """A programming error: a write without an actor, or a hard delete."""


class AuditedSession(Session):
    """A Session whose flushes write the audit log (see module docstring)."""


def set_actor(session: Any, actor: Actor, *, context: str | None = None) -> None:
    """Name who acts for the writes of ``session`` (an AsyncSession or Session)."""
    session.info["actor"] = actor
    session.info["audit_context"] = context


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    return str(value)


def _is_audited(obj: object) -> bool:
    from fieldservice.models.base import Audited

    return isinstance(obj, Audited)


@event.listens_for(AuditedSession, "before_flush")
def _before_flush(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    deleted = [obj for obj in session.deleted if _is_audited(obj)]
    if deleted:
        names = ", ".join(sorted({type(obj).__name__ for obj in deleted}))
        raise AuditError(f"audited records are never deleted ({names}): retire them instead")
    touched = any(_is_audited(o) for o in session.new) or any(
        _is_audited(o) and session.is_modified(o) for o in session.dirty
    )
    if touched and not isinstance(session.info.get("actor"), Actor):
        raise AuditError("a write without an actor: call fieldservice.db.audit.set_actor first")


def _changes(state: InstanceState[Any], *, created: bool) -> dict[str, list[Any]]:
    cls = state.class_
    out: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in cls.__audit_ignore__:
            continue
        if created:
            value = state.dict.get(key)
            if value is None:
                continue
            before, after = None, value
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before == after:
                continue
        if key in cls.__audit_redact__:
            before = REDACTED if before is not None else None
            after = REDACTED if after is not None else None
        out[key] = [_json_value(before), _json_value(after)]
    return out


@event.listens_for(AuditedSession, "after_flush")
def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    # In after_flush the new rows have their primary keys and attribute history still holds
    # the values before the flush; both are gone by after_flush_postexec.
    from fieldservice.models.audit import AuditEntry

    rows: list[dict[str, Any]] = []
    actor: Actor | None = session.info.get("actor")
    now = utcnow()
    for obj, created in [(o, True) for o in session.new] + [(o, False) for o in session.dirty]:
        if not _is_audited(obj):
            continue
        state = sa.inspect(obj)
        changes = _changes(state, created=created)
        if not changes and not created:
            continue
        pk = state.mapper.primary_key_from_instance(obj)
        rows.append({
            "at": now,
            "actor_pk": actor.user_pk if actor else None,
            "actor_name": actor.name if actor else "?",
            "entity": state.mapper.persist_selectable.name,
            "entity_pk": "/".join(str(v) for v in pk),
            "action": "create" if created else "update",
            "changes": changes,
            "context": session.info.get("audit_context"),
        })
    if rows:
        session.connection().execute(sa.insert(cast(sa.Table, AuditEntry.__table__)), rows)
