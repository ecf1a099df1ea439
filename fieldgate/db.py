"""Schema migrations (Alembic) for both PostgreSQL and SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from fieldgate.dburl import DatabaseURL

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: DatabaseURL) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a password must be doubled
    cfg.set_main_option("sqlalchemy.url", db.sqlalchemy_url(asynchronous=False).replace("%", "%%"))
    return cfg


def upgrade(db: DatabaseURL, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    if db.is_sqlite:
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(db), revision)


def downgrade(db: DatabaseURL, revision: str) -> None:
    command.downgrade(alembic_config(db), revision)


def current_revision(db: DatabaseURL) -> str | None:
    engine = create_engine(db.sqlalchemy_url(asynchronous=False))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()
