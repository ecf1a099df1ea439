"""Exceptions of the telemetry package.

::

    TelemetryError
    ├── ConfigError            impossible configuration, raised at construction
    ├── IngestClosed           publish() after the sink was closed
    ├── StorageUnavailable     the database cannot take a batch now (down, locked, misconfigured);
    │                          the batch is kept (spool) and retried
    ├── BatchRejected          the database refused this batch's content; retried a few times,
    │                          then the batch is quarantined on disk, never silently dropped
    ├── SpoolError             the on-disk spool cannot be used
    │   └── SpoolLocked        another process holds the spool directory
    └── QueryError             a read cannot be answered (database away, schema missing)
"""

from __future__ import annotations


class TelemetryError(Exception):
    """Base class of everything this package raises on purpose."""


class ConfigError(TelemetryError, ValueError):
    """A configuration value is out of range or contradicts another one."""


class IngestClosed(TelemetryError):
    """The sink no longer accepts records (it is shutting down or was never entered)."""


class StorageUnavailable(TelemetryError):
    """The database cannot take the batch now; keep it and try again later."""


class BatchRejected(TelemetryError):
    """The database refused the content of a batch (a data or integrity error)."""


class SpoolError(TelemetryError):
    """The spool directory or one of its segment files cannot be used."""


class SpoolLocked(SpoolError):
    """Another process already owns the spool directory."""


class QueryError(TelemetryError):
    """The database cannot answer a read (unreachable, or no schema: ``fieldgate db upgrade``)."""
