"""Alembic environment: runs migrations on the URL that fieldgate.db put in the config."""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("no database URL in the Alembic config (use fieldgate db upgrade)")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # SQLite cannot ALTER most things in place: batch mode copies the table instead.
        context.configure(
            connection=connection,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; pass a database URL")
run_migrations()
