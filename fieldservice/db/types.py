"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from fieldservice.timestamps import SQLITE_FORMAT, as_utc, parse_timestamp


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out.

    PostgreSQL stores ``timestamptz``. SQLite stores fixed-width UTC text, so that comparisons
    in SQL (binding periods, date ranges) are correct, and reads any ISO 8601 spelling another
    writer may have used (``T`` or space, with or without an offset).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime needs a datetime, got {value!r}")
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.strftime(SQLITE_FORMAT)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return parse_timestamp(value)


#: a BIGINT primary key that still autoincrements on SQLite (only INTEGER PRIMARY KEY does)
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
