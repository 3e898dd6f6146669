"""A scratch PostgreSQL database, dropped afterwards, on the server `SYNTHDATA_TEST_PG` names.

The default is the machine's server; `make test` points the variable at a scratch cluster
of its own when that one does not answer (tools/services.sh).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_SERVER = os.environ.get("SYNTHDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def scratch_postgres(name: str) -> Iterator[str]:
    """Create database `name` (through database `test`), yield its URL, drop it at exit."""
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
