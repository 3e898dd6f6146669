"""Shared nothing but PostgreSQL, Redis and the object store: an API and two workers,
each with its own empty home, run a 10,000,000-row job; one worker is SIGKILLed while
it writes a part. The result is one manifest whose parts carry the same checksums as a
single-process run with the same seed, and the customer is charged once.
"""

from __future__ import annotations

import secrets
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from synthdata.artifacts import S3Store
from synthdata.jobs.manifest import Manifest, job_folder
from synthdata.jobs.models import Job, JobChunk
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.platform import Platform
from synthdata.service.customers.models import CustomerCreate, KeyCreate, Role
from synthdata.service.customers.service import create_customer, create_key
from synthdata.service.models.models import SynthModel
from synthdata.service.usage.models import Charge
from tests.databases import scratch_postgres
from tests.fixtures.jobs import run_all_chunks, wait_for
from tests.fixtures.objectstore import S3Server, s3_server  # noqa: F401  (the fixture)
from tests.fixtures.processes import Proc, service_env
from tests.fixtures.results import job_on_model_file, manifest_of, sha256
from tests.fixtures.service import make_settings

ROWS, CHUNK_ROWS, SEED = 10_000_000, 1_000_000, 20261208
TABLE = "n,c\n" + "".join(f"{i % 17 * 1.5},{'abcd'[i % 4]}\n" for i in range(300))

pytestmark = pytest.mark.slow


def _env(
    home: Path, database_url: str, redis_url: str, queue: str, s3: dict[str, str]
) -> dict[str, str]:
    """A process of its own: its home (and so its work_dir) is nobody else's."""
    return service_env(
        home,
        SYNTHDATA_HOME=str(home),
        SYNTHDATA_WORK_DIR=str(home / "work"),
        SYNTHDATA_DATABASE_URL=database_url,
        SYNTHDATA_MIGRATE_ON_START="false",
        SYNTHDATA_QUEUE="redis",
        SYNTHDATA_REDIS_URL=redis_url,
        SYNTHDATA_QUEUE_NAME=queue,
        SYNTHDATA_JOB_CHUNK_ROWS=str(CHUNK_ROWS),
        SYNTHDATA_JOB_LEASE_SECONDS="3",
        SYNTHDATA_JOB_HEARTBEAT_SECONDS="0.3",
        SYNTHDATA_REAPER_INTERVAL_SECONDS="0.5",
        SYNTHDATA_QUEUE_POLL_MAX_SECONDS="0.1",
        **s3,
    )


def _wait_job(api: httpx.Client, job_id: str) -> dict:
    def final() -> dict | None:
        body = api.get(f"/api/v1/jobs/{job_id}").json()
        return body if body["state"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(final, f"job {job_id} to end", timeout=600)


def test_two_workers_sharing_nothing_write_one_result(
    tmp_path: Path,
    redis_db: str,
    s3_server: S3Server,  # noqa: F811
    serve: Callable[..., Proc],
    worker: Callable[..., Proc],
) -> None:
    prefix = f"sn-{secrets.token_hex(6)}"
    s3 = s3_server.env(prefix)
    with scratch_postgres(f"synthdata_sn_{secrets.token_hex(4)}") as database_url:
        upgrade_head(database_url)
        engine = make_engine(database_url)
        sessions = make_session_factory(engine)
        with session_scope(sessions) as session:
            customer = create_customer(
                session, CustomerCreate(name="Far Away", price_per_1k_rows="0.01")
            )
            _key, secret = create_key(session, customer.id, KeyCreate(role=Role.CUSTOMER))
        homes = [tmp_path / name for name in ("api", "worker-a", "worker-b")]
        queue = f"sn-{secrets.token_hex(4)}"
        envs = [_env(home, database_url, redis_db, queue, s3) for home in homes]
        api_proc = serve(envs[0], 1, "--job-threads", "0")
        workers = [worker(env) for env in envs[1:]]
        api = httpx.Client(base_url=api_proc.url, headers={"X-API-Key": secret}, timeout=60)
        try:
            dataset = api.post(
                "/api/v1/datasets", files={"file": ("t.csv", TABLE.encode(), "text/csv")}
            ).json()
            model = api.post("/api/v1/models", json={"dataset_id": dataset["id"]}).json()
            assert _wait_job(api, model["job_id"])["state"] == "succeeded"
            body = {"model_id": model["id"], "rows": ROWS, "seed": SEED, "format": "parquet"}
            job = api.post("/api/v1/jobs", json=body).json()

            # SIGKILL worker A while a part is being written in its own work_dir.
            scratch = homes[1] / "work" / "scratch"

            def a_mid_chunk() -> bool:
                with session_scope(sessions) as session:
                    states = list(
                        session.scalars(select(JobChunk.state).where(JobChunk.job_id == job["id"]))
                    )
                writing = scratch.is_dir() and any(scratch.iterdir())
                return states.count("done") >= 1 and writing and "running" in states

            wait_for(a_mid_chunk, "worker A to be writing a part", timeout=300)
            workers[0].popen.send_signal(signal.SIGKILL)
            workers[0].popen.wait(timeout=30)
            done = _wait_job(api, job["id"])
            assert done["state"] == "succeeded", done
            listed = api.get(f"/api/v1/jobs/{job['id']}/result?parts=true").json()
        finally:
            api.close()

        with session_scope(sessions) as session:
            row = session.get_one(Job, job["id"])
            charges = session.scalars(select(Charge).where(Charge.job_id == row.id)).all()
            attempts = sorted(
                session.scalars(select(JobChunk.attempts).where(JobChunk.job_id == row.id))
            )
            model_key = session.get_one(SynthModel, model["id"]).path
        engine.dispose()
    assert [c.rows for c in charges] == [ROWS]  # one charge
    assert attempts[-1] >= 2  # the killed worker's chunk was run again

    # One result: the manifest and exactly the parts it lists, each as recorded.
    store = S3Store(s3_server.config(prefix=prefix))
    with store.open_read(row.result_path) as source:
        manifest = Manifest.from_json(source.read())
    folder = job_folder(row.result_path)
    assert sorted(o.key for o in store.list(folder)) == sorted(
        [row.result_path, *(f"{folder}/{p.key}" for p in manifest.parts)]
    )
    assert (len(manifest.parts), sum(p.rows for p in manifest.parts)) == (10, ROWS)
    assert [p["sha256"] for p in listed["parts"]] == [p.sha256 for p in manifest.parts]
    for part in manifest.parts:
        with store.open_read(f"{folder}/{part.key}") as source:
            assert sha256(source.read()) == part.sha256
    # Shared nothing: no process kept an artifact in its own home.
    assert not any((home / "data" / "customers").exists() for home in homes)

    # The same model and seed in one process (local store, SQLite): the same parts.
    local = make_settings(
        f"sqlite:///{tmp_path / 'single.db'}", tmp_path / "single", job_chunk_rows=CHUNK_ROWS
    )
    upgrade_head(local.database_url)
    model_file = tmp_path / "model.synth"
    store.get_file(model_key, model_file)
    platform = Platform.build(local)
    try:
        single_id = job_on_model_file(platform, model_file, ROWS, "parquet", SEED)
        run_all_chunks(platform, single_id)
        with session_scope(platform.sessions) as session:
            single = manifest_of(platform, session.get_one(Job, single_id))
    finally:
        platform.stop()
    assert [p.sha256 for p in single.parts] == [p.sha256 for p in manifest.parts]
    assert [p.bytes for p in single.parts] == [p.bytes for p in manifest.parts]
