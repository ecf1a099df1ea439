"""Database URLs as users write them, and the forms each driver wants.

Users pass ``postgresql://user@host:port/db`` (any libpq URL) or ``sqlite:///path/file.db``.
SQLAlchemy wants a driver in the scheme, psycopg wants the plain libpq URL, sqlite3 wants a path;
this value object is the single place that knows all three.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class DatabaseKind(enum.StrEnum):
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"


class DatabaseURLError(ValueError):
    """The URL is not a form fieldgate understands."""


_PG_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg_async"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    kind: DatabaseKind
    #: for PostgreSQL the libpq URL (``postgresql://...``); for SQLite the file path
    target: str

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        if not url or not isinstance(url, str):
            raise DatabaseURLError("no database URL given (use --db or FIELDGATE_DB)")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _PG_SCHEMES:
            if not (parts.netloc or parts.path.strip("/") or parts.query):
                raise DatabaseURLError(f"PostgreSQL URL names no server or database: {url!r}")
            return cls(DatabaseKind.POSTGRESQL, urlunsplit(("postgresql", *parts[1:])))
        if scheme in _SQLITE_SCHEMES:
            # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy reads them
            path = url.split("://", 1)[1]
            if path.startswith("/"):
                path = path[1:]
            if not path or path == ":memory:":
                raise DatabaseURLError(
                    f"SQLite URL needs a file path (sqlite:///path/file.db), got {url!r}"
                )
            return cls(DatabaseKind.SQLITE, path)
        raise DatabaseURLError(
            f"unsupported database URL {url!r}: use postgresql://user@host:port/db "
            "or sqlite:///path/file.db"
        )

    @property
    def is_postgresql(self) -> bool:
        return self.kind is DatabaseKind.POSTGRESQL

    @property
    def is_sqlite(self) -> bool:
        return self.kind is DatabaseKind.SQLITE

    @property
    def conninfo(self) -> str:
        """libpq URL for psycopg."""
        if not self.is_postgresql:
            raise DatabaseURLError("conninfo is only defined for PostgreSQL")
        return self.target

    @property
    def sqlite_path(self) -> Path:
        if not self.is_sqlite:
            raise DatabaseURLError("sqlite_path is only defined for SQLite")
        return Path(self.target)

    def sqlalchemy_url(self, *, asynchronous: bool) -> str:
        if self.is_postgresql:
            return "postgresql+psycopg" + self.target[len("postgresql") :]
        driver = "sqlite+aiosqlite" if asynchronous else "sqlite+pysqlite"
        return f"{driver}:///{self.target}"

    def __str__(self) -> str:
        return self.target if self.is_postgresql else f"sqlite:///{self.target}"
