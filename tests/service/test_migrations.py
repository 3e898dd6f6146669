"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from synthdata.service.core.db import make_engine
from synthdata.service.core.migrate import current_revision, upgrade_head
from synthdata.service.tables import metadata


def test_head_matches_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(database_url):
    upgrade_head(database_url)
    upgrade_head(database_url)
    assert current_revision(database_url) == _head()


def test_fresh_sqlite_file_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'var' / 'nested' / 'synthdata.db'}"
    assert current_revision(url) is None
    upgrade_head(url)
    assert current_revision(url) == _head()


def _head() -> str:
    from alembic.script import ScriptDirectory

    from synthdata.service.core.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
