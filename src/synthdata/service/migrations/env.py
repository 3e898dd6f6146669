"""Alembic environment: runs migrations online against `sqlalchemy.url`.

On PostgreSQL an advisory lock serialises replicas that start at the same time,
so only one of them applies a migration and the others find it done.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from synthdata.service.core.db import make_engine
from synthdata.service.tables import metadata

_LOCK_ID = 0x5D47A  # any constant shared by every replica


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            is_postgres = connection.dialect.name == "postgresql"
            if is_postgres:
                connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
                connection.commit()
            try:
                context.configure(
                    connection=connection,
                    target_metadata=metadata,
                    render_as_batch=connection.dialect.name == "sqlite",
                    compare_type=True,
                )
                with context.begin_transaction():
                    context.run_migrations()
            finally:
                if is_postgres:
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                    connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run them online")
run_migrations_online()
