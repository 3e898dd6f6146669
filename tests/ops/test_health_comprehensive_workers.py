"""`health-check`'s workers finding agrees with GenerationQueueStalled: stalled means work
waits and none progresses (nothing in flight, no chunk completed in 15 minutes), not that
a queued job is old. Busy workers on a long job, or chunks completing, are healthy.

The jobs tables of a real service's database (SQLite, `serve --job-threads 0` so that no
thread takes the work) are set to each situation, as if minutes had passed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from synthdata.jobs.models import ChunkState, Job, JobChunk, JobState
from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from synthdata.service.customers.models import Customer
from tests.fixtures.ops import assert_clean_exit, base_test_env, ops
from tests.fixtures.processes import Proc, processes, serve  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow


def _minutes(value: float) -> Any:
    return utcnow() + timedelta(minutes=value)


def _situation(database_url: str, *, long_job: dict[str, Any] | None, waiting_for: float) -> None:
    """One job waiting `waiting_for` minutes and, if given, a long job with one finished
    chunk (`long_job`: the job's and the chunk's columns to set)."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            session.execute(delete(JobChunk))
            session.execute(delete(Job))
            customer = session.query(Customer).first() or Customer(name="Busy Ltd")
            session.add(customer)
            session.flush()
            since = _minutes(-waiting_for)
            session.add(
                Job(customer_id=customer.id, seed=1, rows=10, created_at=since, enqueued_at=since)
            )
            if long_job is not None:
                chunk_done = long_job.pop("chunk_finished_at")
                job = Job(customer_id=customer.id, seed=2, rows=10**7, chunks_total=100, **long_job)
                session.add(job)
                session.flush()
                session.add(
                    JobChunk(
                        job_id=job.id,
                        index=0,
                        start_row=0,
                        rows=10**5,
                        state=ChunkState.DONE.value,
                        finished_at=chunk_done,
                    )
                )
    finally:
        engine.dispose()


def _workers(env: dict[str, str], code: int) -> dict[str, Any]:
    run = ops(env, "health-check", "--json")
    assert_clean_exit(run, code)
    return run.finding("workers")


@pytest.mark.timeout(300)
def test_workers_are_stalled_only_without_progress(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
) -> None:
    env = base_test_env(tmp_path)
    api = serve(env, 1, "--job-threads", "0")
    env["SYNTHDATA_API_URL"] = api.url
    database = env["SYNTHDATA_DATABASE_URL"]

    # Busy: a 25-minute job holds a live lease; the next one has waited 20 minutes.
    running = {
        "state": JobState.RUNNING.value,
        "started_at": _minutes(-25),
        "lease_until": _minutes(10),
        "chunk_finished_at": _minutes(-24),
    }
    _situation(database, long_job=running, waiting_for=20)
    busy = _workers(env, 0)
    assert busy["status"] == "ok", busy
    assert busy["data"]["queued"] == 1 and busy["data"]["in_flight"] == 1

    # No lease right now, but a chunk was completed 2 minutes ago: progress.
    between = {
        "state": JobState.SUCCEEDED.value,
        "started_at": _minutes(-40),
        "finished_at": _minutes(-2),
        "chunk_finished_at": _minutes(-2),
    }
    _situation(database, long_job=between, waiting_for=20)
    moving = _workers(env, 0)
    assert moving["status"] == "ok", moving
    assert moving["data"]["chunks_completed_in_window"] == 1

    # Work waits and nothing moved for 30 minutes: stalled, as the alert says.
    idle = {
        "state": JobState.SUCCEEDED.value,
        "started_at": _minutes(-60),
        "finished_at": _minutes(-30),
        "chunk_finished_at": _minutes(-30),
    }
    _situation(database, long_job=idle, waiting_for=20)
    stalled = _workers(env, 1)
    assert stalled["status"] == "fail"
    assert "nothing in flight and no chunk completed in the last 15m" in stalled["detail"]
    assert "GenerationQueueStalled" in stalled["detail"]

    # Just queued on an idle platform: within the alert's 5 minutes, not stalled yet.
    _situation(database, long_job=None, waiting_for=1)
    fresh = _workers(env, 0)
    assert fresh["status"] == "ok", fresh
    api.stop()
