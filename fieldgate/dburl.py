"""The database URL, for the command line: it lives in :mod:`telemetry.dburl`, below every
package that opens a database (telemetry, fieldservice), and is re-exported here."""

from telemetry.dburl import DatabaseKind, DatabaseURL, DatabaseURLError

__all__ = ["DatabaseKind", "DatabaseURL", "DatabaseURLError"]
