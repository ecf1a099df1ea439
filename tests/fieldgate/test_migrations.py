"""The same migrations build PostgreSQL and SQLite, and downgrade cleanly."""

import sqlalchemy as sa

from fieldgate.db import current_revision, downgrade, upgrade
from fieldgate.dburl import DatabaseURL

EXPECTED_TABLES = {
    "positions", "terminal_state", "unknown_terminals", "terminals", "sims", "terminal_sims",
}


def _tables(db: DatabaseURL) -> set[str]:
    engine = sa.create_engine(db.sqlalchemy_url(asynchronous=False))
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_head_has_the_documented_tables(db: DatabaseURL) -> None:
    assert _tables(db) >= EXPECTED_TABLES
    assert current_revision(db) is not None


def test_positions_columns_are_the_documented_schema(db: DatabaseURL) -> None:
    engine = sa.create_engine(db.sqlalchemy_url(asynchronous=False))
    with engine.connect() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("positions")]
        pk = sa.inspect(conn).get_pk_constraint("positions")["constrained_columns"]
    engine.dispose()
    assert columns[:2] == ["terminal_id", "fix_time"]
    assert {"lat", "lon", "speed_kn", "course_deg", "alt_m", "sats", "hdop", "fix_quality",
            "received_at"} <= set(columns)
    assert pk == ["terminal_id", "fix_time"]


def test_downgrade_to_base_and_back(db: DatabaseURL) -> None:
    downgrade(db, "base")
    assert not (EXPECTED_TABLES & _tables(db))
    upgrade(db)
    assert _tables(db) >= EXPECTED_TABLES
