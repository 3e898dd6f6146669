"""A worker SIGKILLed mid-job: another worker finishes it, with one result and one charge.

Real worker processes (`slow_worker.py`: the real worker with a slowed-down
synthesizer), a real queue (a SQLite file next to SQLite, Redis next to
PostgreSQL) and a real database.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from tests.fixtures.jobs import wait_for, worker_env

from synthdata.jobs.models import Job, JobChunk
from synthdata.jobs.queue import JobQueue
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage
from synthdata.service.customers.models import Customer
from synthdata.service.datasets.models import Dataset
from synthdata.service.usage.models import Charge

WORKER = Path(__file__).with_name("slow_worker.py")
ROWS, CHUNK_ROWS = 60, 10

pytestmark = pytest.mark.slow


def test_killed_worker_job_completes_once(
    settings_for: Callable[..., Settings], redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    probe = settings_for()
    # Embedded pairing with SQLite, scale-out pairing (Redis queue) with PostgreSQL.
    if probe.database_url.startswith("sqlite"):
        settings = settings_for(job_chunk_rows=CHUNK_ROWS)
    else:
        settings = settings_for(
            job_chunk_rows=CHUNK_ROWS, queue="redis", redis_url=redis_url, queue_name=redis_prefix
        )
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    storage = Storage.open(settings)

    # A customer, a stored table, and a job asking for 6 chunks of the slow synthesizer.
    table = pd.DataFrame({"x": range(40), "group": ["a", "b"] * 20})
    with session_scope(sessions) as session:
        customer = Customer(name="Crash Test", price_per_1k_micros=1_000_000)
        session.add(customer)
        session.flush()
        key = storage.dataset_file(customer.id, "ds_crash", "csv")
        path = storage.scratch("t.csv")
        table.to_csv(path, index=False)
        session.add(
            Dataset(
                id="ds_crash",
                customer_id=customer.id,
                name="t",
                filename="t.csv",
                format="csv",
                path=key,
                size_bytes=storage.publish(path, key),
                rows=40,
                columns=2,
                schema_json={},
            )
        )
        session.flush()  # no ORM relationships: insert the parent rows first
        job = Job(
            customer_id=customer.id,
            dataset_id="ds_crash",
            rows=ROWS,
            synthesizer="slow_copula",
            seed=11,
        )
        session.add(job)
    JobQueue(settings).send_prepare(job.id)

    def chunk_states() -> list[str]:
        with session_scope(sessions) as session:
            return list(session.scalars(select(JobChunk.state).where(JobChunk.job_id == job.id)))

    env = worker_env(
        settings, SYNTHDATA_JOB_CHUNK_ROWS=str(settings.job_chunk_rows), SLOW_SECONDS="0.4"
    )
    log = (tmp_path / "workers.log").open("ab")
    first = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=log, stderr=log)
    try:
        wait_for(
            lambda: (states := chunk_states()).count("done") >= 2 and "running" in states,
            "the first worker to be mid-job",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        with session_scope(sessions) as session:
            assert session.get_one(Job, job.id).state == "running"
        second = subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=log, stderr=log)
        try:

            def finished() -> Job | None:
                with session_scope(sessions) as session:
                    row = session.get_one(Job, job.id)
                    return row if row.state not in ("queued", "running") else None

            final = wait_for(finished, "the second worker to finish the job")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()

    assert final.state == "succeeded", (final.error, (tmp_path / "workers.log").read_text())
    with session_scope(sessions) as session:
        charges = session.scalars(select(Charge).where(Charge.job_id == job.id)).all()
        chunks = session.scalars(select(JobChunk).where(JobChunk.job_id == job.id)).all()
        assert session.scalar(select(func.count()).select_from(Charge)) == 1
    assert len(charges) == 1 and charges[0].rows == ROWS
    assert charges[0].amount_micros == 60_000  # 60 rows at 1.00 per 1,000
    assert [c.state for c in chunks] == ["done"] * (ROWS // CHUNK_ROWS)
    assert max(c.attempts for c in chunks) >= 2, "the killed worker's chunk was re-run"
    # The result is the manifest and one part per chunk; the fitted model is gone.
    job_dir = storage.job_dir(job.customer_id, job.id)
    parts = [storage.part_file(job.customer_id, job.id, i, "csv") for i in range(len(chunks))]
    stored = sorted(o.key for o in storage.store.list(job_dir))
    assert stored == sorted([storage.manifest_file(job.customer_id, job.id), *parts])
    assert final.result_path == storage.manifest_file(job.customer_id, job.id)
    result = pd.concat(pd.read_csv(storage.fetch(part)) for part in parts)
    assert len(result) == ROWS and list(result.columns) == ["x", "group"]
    engine.dispose()
