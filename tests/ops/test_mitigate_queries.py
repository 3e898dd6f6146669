"""optimize-queries on real PostgreSQL and SQLite: the hot queries use their indexes.

The database is migrated like production and filled with enough rows (thousands per
table) that a planner prefers an index where one serves; dropping one index must
turn its query into a reported sequential scan.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from synthdata.cli.main import app
from synthdata.jobs.models import Job, JobChunk
from synthdata.ops.hot_queries import HOT_QUERIES, index_spec
from synthdata.service.core.db import make_engine, utcnow
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.customers.models import ApiKey, Customer
from synthdata.service.usage.models import Charge
from tests.databases import PG_SERVER, scratch_postgres

runner = CliRunner()
CUSTOMERS = 50
JOBS = 5000


def _fill(url: str) -> None:
    """Customers, keys, jobs (nearly all finished), one chunk and one charge per job."""
    now = utcnow()
    customers = [{"id": f"cus_{i:012x}", "name": f"c{i}"} for i in range(CUSTOMERS)]
    keys = [
        {"id": f"key_{i:012x}", "customer_id": customers[i % CUSTOMERS]["id"],
         "prefix": "sdk_", "secret_hash": secrets.token_hex(32)}
        for i in range(2000)
    ]  # fmt: skip
    jobs, chunks, charges = [], [], []
    for i in range(JOBS):
        customer = customers[i % CUSTOMERS]["id"]
        running = i % 500 == 0  # a few live leases among many finished jobs
        jobs.append(
            {"id": f"job_{i:012x}", "customer_id": customer, "seed": i, "rows": 100,
             "state": "running" if running else "succeeded", "chunks_total": 1,
             "lease_until": now + timedelta(minutes=1) if running else None}
        )  # fmt: skip
        chunks.append(
            {"job_id": f"job_{i:012x}", "index": 0, "start_row": 0, "rows": 100,
             "state": "running" if running else "done"}
        )  # fmt: skip
        charges.append(
            {"id": f"chg_{i:012x}", "job_id": f"job_{i:012x}", "customer_id": customer,
             "rows": 100, "amount_micros": 50_000, "currency": "USD"}
        )  # fmt: skip
    engine = make_engine(url)
    with engine.begin() as connection:
        for table, rows in (
            (Customer.__table__, customers),
            (ApiKey.__table__, keys),
            (Job.__table__, jobs),
            (JobChunk.__table__, chunks),
            (Charge.__table__, charges),
        ):
            connection.execute(table.insert(), rows)  # type: ignore[attr-defined]
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[str]:
    """A migrated database of each kind, filled once for this module."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'db.sqlite'}"
        upgrade_head(url)
        _fill(url)
        yield url
        return
    with scratch_postgres(f"synthdata_plans_{secrets.token_hex(4)}") as url:
        upgrade_head(url)
        _fill(url)
        yield url


def _optimize(url: str, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    env = {"SYNTHDATA_DATABASE_URL": url, "SYNTHDATA_DATA_DIR": str(tmp_path)}
    args = ["ops", "optimize-queries", "--analyze", "--explain", "--json"]
    result = runner.invoke(app, args, env=env)
    return result.exit_code, json.loads(result.stdout)


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["name"]: finding for finding in report["findings"]}


def test_hot_queries_name_indexes_of_the_schema() -> None:
    assert len({q.name for q in HOT_QUERIES}) == len(HOT_QUERIES)
    for query in HOT_QUERIES:
        assert index_spec(query.index).table == query.table
    assert index_spec("ix_charges_customer_id").ddl() == (
        "CREATE INDEX ix_charges_customer_id ON charges (customer_id)"
    )


def test_current_hot_queries_use_indexes(filled: str, tmp_path: Path) -> None:
    code, report = _optimize(filled, tmp_path)
    findings = _by_name(report)
    assert code == 0, report
    assert findings["statistics"]["status"] == "ok"
    for query in HOT_QUERIES:
        finding = findings[query.name]
        assert finding["status"] == "ok", finding
        assert finding["data"]["plan"], "--explain includes the plan"
    # The plans are the database's own: PostgreSQL's JSON (with ANALYZE's actual rows)
    # or SQLite's EXPLAIN QUERY PLAN rows.
    usage = findings["usage of a customer"]
    if filled.startswith("postgresql"):
        assert "Actual Rows" in usage["data"]["plan"][0]["Plan"]
    else:
        assert any("ix_charges_customer_id" in row[3] for row in usage["data"]["plan"])


def test_a_dropped_index_shows_as_a_sequential_scan(filled: str, tmp_path: Path) -> None:
    engine = make_engine(filled)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_charges_customer_id"))
    try:
        code, report = _optimize(filled, tmp_path)
    finally:
        with engine.begin() as connection:
            connection.execute(text(index_spec("ix_charges_customer_id").ddl()))
        engine.dispose()
    assert code == 1, report
    findings = _by_name(report)
    usage = findings["usage of a customer"]
    assert usage["status"] == "warn"
    assert f"sequential scan on charges ({JOBS} rows)" in usage["detail"]
    assert "ix_charges_customer_id (customer_id) would help and is missing" in usage["detail"]
    assert usage["data"]["ddl"] == "CREATE INDEX ix_charges_customer_id ON charges (customer_id)"
    others = [f for name, f in findings.items() if name != "usage of a customer"]
    assert {f["status"] for f in others} == {"ok"}


def test_an_unreachable_database_exits_3(tmp_path: Path) -> None:
    # The test server answers, but the database does not exist: the error names it.
    url = f"{PG_SERVER}/synthdata_no_such_database"
    env = {"SYNTHDATA_DATABASE_URL": url, "SYNTHDATA_DATA_DIR": str(tmp_path)}
    result = runner.invoke(app, ["ops", "optimize-queries", "--json"], env=env)
    assert result.exit_code == 3, result.output
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["status"] == "unreachable"
    assert "synthdata_no_such_database" in finding["detail"]


def test_an_index_scan_that_filters_the_whole_table_is_reported(
    filled: str, tmp_path: Path
) -> None:
    """Without any customer index, PostgreSQL walks the primary key and filters (or scans)."""
    if not filled.startswith("postgresql"):
        pytest.skip("SQLite's unique (customer_id, idempotency_key) index cannot be dropped")
    engine = make_engine(filled)
    unique = "uq_jobs_customer_id_idempotency_key"
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_jobs_customer_id"))
        connection.execute(text(f"ALTER TABLE jobs DROP CONSTRAINT {unique}"))
    try:
        code, report = _optimize(filled, tmp_path)
    finally:
        with engine.begin() as connection:
            connection.execute(text(index_spec("ix_jobs_customer_id").ddl()))
            columns = "(customer_id, idempotency_key)"
            connection.execute(text(f"ALTER TABLE jobs ADD CONSTRAINT {unique} UNIQUE {columns}"))
        engine.dispose()
    assert code == 1, report
    listing = _by_name(report)["job list of a customer"]
    assert listing["status"] == "warn"
    assert "on jobs" in listing["detail"]
    assert "ix_jobs_customer_id (customer_id) would help and is missing" in listing["detail"]
