"""Persistence: engines and sessions, column types, the audit hooks, counters, shared secrets."""

from fieldservice.db.audit import AuditedSession, AuditError, set_actor
from fieldservice.db.engine import create_engine, session_factory

__all__ = ["AuditError", "AuditedSession", "create_engine", "session_factory", "set_actor"]
