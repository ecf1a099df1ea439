"""Migration 0002 builds, on both databases, exactly what the models map."""

from __future__ import annotations

import sqlalchemy as sa

from fieldgate.db import downgrade, upgrade
from fieldgate.dburl import DatabaseURL
from fieldservice.models import Base

SERVICE_TABLES = {"users", "customers", "vehicles", "install_requests", "work_orders",
                  "work_order_transitions", "terminal_vehicles", "hardware_swaps", "audit_log",
                  "counters", "app_secrets"}


def _inspect(db: DatabaseURL):
    engine = sa.create_engine(db.sqlalchemy_url(asynchronous=False))
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = {t: {c["name"] for c in inspector.get_columns(t)}
                  for t in inspector.get_table_names()}
        indexes = {t: {i["name"]: i for i in inspector.get_indexes(t)} for t in tables}
    engine.dispose()
    return tables, indexes


def test_models_match_the_migrated_schema(db: DatabaseURL):
    tables, _ = _inspect(db)
    for table in Base.metadata.sorted_tables:
        assert table.name in tables, table.name
        assert {c.name for c in table.columns} == tables[table.name], table.name


def test_open_binding_indexes_are_partial_and_survive_downgrade(db: DatabaseURL):
    _, indexes = _inspect(db)
    for table, name in (("terminal_vehicles", "terminal_vehicles_open_vehicle_uq"),
                        ("terminal_vehicles", "terminal_vehicles_open_terminal_uq"),
                        ("terminal_sims", "terminal_sims_open_terminal_uq"),
                        ("terminal_sims", "terminal_sims_open_sim_uq")):
        index = indexes[table][name]
        assert index["unique"]
        where = index["dialect_options"].get(f"{db.kind.value}_where")
        assert "valid_to IS NULL" in str(where), (name, where)
    downgrade(db, "0001")
    tables, indexes = _inspect(db)
    assert not SERVICE_TABLES & set(tables)
    assert {"work_order_pk", "closed_by"}.isdisjoint(tables["terminal_sims"])
    assert "terminal_sims_open_sim_uq" in indexes["terminal_sims"]
    upgrade(db)
    tables, _ = _inspect(db)
    assert set(tables) >= SERVICE_TABLES
