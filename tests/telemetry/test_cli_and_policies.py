"""``fieldgate positions`` and the TimescaleDB policy function (its plain-PostgreSQL path)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from fieldgate.cli import main
from fieldgate.dburl import DatabaseURL
from telemetry.ingest import Ingest
from telemetry.timescale import PolicyOutcome, apply_policies, apply_policies_for
from tests.telemetry.conftest import config, fixes, register, session


async def _store(db: DatabaseURL, tmp_path: Path) -> None:
    register(db, "T-1", "T-2")
    async with Ingest(db=db, config=config(tmp_path)) as sink:
        await sink.publish(session("T-1"), fixes(10))
        await sink.publish(session("T-2"), fixes(3))
        await sink.flush()


def test_positions_prints_json_lines(db: DatabaseURL, tmp_path: Path, capsys) -> None:
    asyncio.run(_store(db, tmp_path))  # the command runs its own event loop
    assert main(["positions", "T-1", "--db", str(db), "--since", "2026-03-01T08:00:02Z",
                 "--until", "2026-03-01T09:00:05+01:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    got = [json.loads(line) for line in out]
    # since inclusive, until exclusive (09:00:05+01:00 is 08:00:05Z)
    assert [g["time"] for g in got] == [f"2026-03-01T08:00:0{i}Z" for i in (2, 3, 4)]
    expected = fixes(10)[2].as_json()
    assert set(got[0]) == set(expected) | {"terminal", "received_at"}
    assert got[0]["terminal"] == "T-1" and got[0]["lat"] == expected["lat"]
    assert main(["positions", "T-1", "--db", str(db), "--limit", "4"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    assert main(["positions", "NOBODY", "--db", str(db)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("argv, message", [
    (["--since", "yesterday"], "--since: 'yesterday' is not a timestamp"),
    (["--until", "2026-13-01"], "--until: '2026-13-01' is not a timestamp"),
    (["--since", "2026-03-02", "--until", "2026-03-01"], "must be before --until"),
    (["--until", "9999-12-31T23:00:00-05:00"], "--until: '9999-12-31T23:00:00-05:00' is not"),
    (["--limit", str(2**63)], "--limit must be at most"),
])
def test_positions_bad_times_are_clear_errors(sqlite_db: DatabaseURL, capsys, argv,
                                              message) -> None:
    assert main(["positions", "T-1", "--db", str(sqlite_db), *argv]) == 2
    assert message in capsys.readouterr().err


def test_positions_without_schema_or_server(tmp_path: Path, capsys) -> None:
    assert main(["positions", "T", "--db", f"sqlite:///{tmp_path}/missing.db"]) == 2
    assert "fieldgate db upgrade" in capsys.readouterr().err
    assert main(["positions", "T", "--db", "postgresql://nobody@127.0.0.1:1/none"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err
    assert len(err.splitlines()) == 1  # without psycopg's "Is the server running" hint line


def test_policies_are_a_logged_no_op_on_plain_postgresql(pg_db: DatabaseURL, caplog) -> None:
    caplog.set_level(logging.INFO, logger="telemetry.timescale")
    with psycopg.connect(pg_db.conninfo, autocommit=True) as conn:
        has_ext = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
                               ).fetchone()
        if has_ext:
            pytest.skip("this server has TimescaleDB: the plain path cannot be observed")
        outcome = apply_policies(conn, compress_after=timedelta(days=7),
                                 retain=timedelta(days=365))
    assert outcome is PolicyOutcome.NO_TIMESCALEDB
    assert "timescaledb extension not installed" in caplog.text
    assert apply_policies_for(pg_db, retain=timedelta(days=30)) is PolicyOutcome.NO_TIMESCALEDB
    with pytest.raises(ValueError):
        apply_policies_for(pg_db, compress_after=timedelta(days=7), retain=timedelta(days=1))


def test_policies_on_sqlite(sqlite_db: DatabaseURL, caplog) -> None:
    caplog.set_level(logging.INFO, logger="telemetry.timescale")
    assert apply_policies_for(sqlite_db, retain=timedelta(days=30)) is PolicyOutcome.SQLITE
    assert "no TimescaleDB policies" in caplog.text
