"""SQLite stores time as text: ours must be the text SQLAlchemy's DateTime writes and reads,
so that the ORM side (fieldservice) and this package agree on every row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from fieldgate.dburl import DatabaseURL
from telemetry.ingest import Ingest
from telemetry.queries import TelemetryReader
from telemetry.timestamps import from_sqlite_text, sqlite_text
from tests.telemetry.conftest import config, fixes, register, session, sql


def test_text_form() -> None:
    assert sqlite_text(datetime(2026, 3, 1, 8, 0, tzinfo=UTC)) == "2026-03-01 08:00:00.000000"
    plus2 = timezone(timedelta(hours=2))
    assert sqlite_text(datetime(2026, 3, 1, 1, 0, 0, 5, tzinfo=plus2)) == \
        "2026-02-28 23:00:00.000005"
    assert sqlite_text(datetime(2026, 3, 1, 8, 0)) == "2026-03-01 08:00:00.000000"
    assert from_sqlite_text("2026-03-01 08:00:00") == datetime(2026, 3, 1, 8, tzinfo=UTC)


def _tables(engine: sa.Engine) -> sa.MetaData:
    meta = sa.MetaData()
    meta.reflect(engine, only=["positions", "terminal_state", "terminals"])
    # what an ORM model declares: DateTime(timezone=True) (reflection sees DATETIME)
    for table in meta.tables.values():
        for column in table.columns:
            if isinstance(column.type, sa.DateTime):
                column.type = sa.DateTime(timezone=True)
    return meta


async def test_sqlalchemy_reads_what_the_writer_stored_and_vice_versa(
        sqlite_db: DatabaseURL, tmp_path: Path) -> None:
    register(sqlite_db, "T-1")
    track = fixes(5, start=datetime(2026, 3, 1, 8, 0, 0, 250000, tzinfo=UTC))
    async with Ingest(db=sqlite_db, config=config(tmp_path)) as sink:
        s = session("T-1")
        await sink.session_opened(s)
        await sink.publish(s, track)
        await sink.flush()

    engine = sa.create_engine(sqlite_db.sqlalchemy_url(asynchronous=False))
    try:
        meta = _tables(engine)
        positions, state, terminals = (meta.tables[n] for n in
                                       ("positions", "terminal_state", "terminals"))
        with engine.begin() as conn:
            times = conn.execute(sa.select(positions.c.fix_time)
                                 .order_by(positions.c.fix_time)).scalars().all()
            # SQLAlchemy on SQLite hands back naive UTC
            assert times == [f.time.replace(tzinfo=None) for f in track]
            # and its bound parameters compare correctly with our text
            later = conn.execute(sa.select(sa.func.count()).select_from(positions).where(
                positions.c.fix_time > track[2].time.replace(tzinfo=None))).scalar()
            assert later == 2
            last_fix = conn.execute(sa.select(state.c.last_fix_time)).scalar()
            assert last_fix == track[-1].time.replace(tzinfo=None)
            # an ORM-style writer (what fieldservice does) registering a terminal
            registered = datetime(2026, 3, 1, 9, 30, 0, 5)
            conn.execute(terminals.insert().values(terminal_id="T-2", state="installed",
                                                   registered_at=registered))
    finally:
        engine.dispose()
    stored = sql(sqlite_db, "SELECT registered_at FROM terminals WHERE terminal_id = 'T-2'")
    assert stored == [(sqlite_text(datetime(2026, 3, 1, 9, 30, 0, 5, tzinfo=UTC)),)]
    # "a valid fix after the registration time": the comparison fieldservice will make in SQL
    assert sql(sqlite_db, "SELECT count(*) FROM positions p JOIN terminals t "
                          "ON t.terminal_id = 'T-2' WHERE p.fix_time > t.registered_at") == [(0,)]
    async with TelemetryReader(sqlite_db) as reader:
        got = [f.fix_time async for f in reader.positions("T-1", since=track[1].time,
                                                           until=track[4].time)]
    assert got == [f.time for f in track[1:4]]
