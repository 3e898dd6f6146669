"""The measured inputs of the scale model: per-chunk fixed costs and per-worker speed.

Every number comes from the project's own code on this machine: Huey through
`jobs.queue.make_huey`, job and chunk transitions through `jobs.leases` and
`jobs.transitions` on PostgreSQL, the artifact stores of `synthdata.artifacts`
(LocalStore and S3Store on a real SeaweedFS), `jobs.manifest.write_manifest`, and
the default synthesizer fitting and sampling the 12-column benchmark table.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import select

from synthdata.artifacts import ArtifactStore
from synthdata.jobs import leases
from synthdata.jobs.manifest import Manifest, PartEntry, write_manifest
from synthdata.jobs.models import Job, JobChunk
from synthdata.jobs.queue import JobQueue
from synthdata.jobs.transitions import complete_chunk
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import CustomerCreate
from synthdata.service.customers.service import create_customer

LEASE_S = 60.0


def summary(samples: list[float]) -> dict[str, float]:
    """Median, p95 and mean of latencies in seconds (n as well)."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "mean": statistics.fmean(ordered),
    }


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Wall seconds of `repeat` calls of `fn`."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


# -- queue ------------------------------------------------------------------------------
def queue_round_trip(settings: Settings, repeat: int) -> dict[str, float]:
    """Send one chunk message and take it off the queue again (a consumer's dequeue)."""
    queue = JobQueue(settings)
    huey = queue.huey
    huey.flush()

    def once() -> None:
        queue.send_chunk("job-scale", 1)
        if huey.dequeue() is None:
            raise RuntimeError("the message did not come back")

    try:
        timed(once, 5)  # warm: connections opened, tables created
        return summary(timed(once, repeat))
    finally:
        huey.flush()


# -- database ---------------------------------------------------------------------------
def seed_job(url: str, chunks: int) -> str:
    """A running job with `chunks` queued chunks (one more that never completes, so no
    finalize is claimed while measuring)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:
        customer = create_customer(session, CustomerCreate(name="scale benchmark"))
        session.flush()
        job = Job(customer_id=customer.id, rows=chunks + 1, seed=1, state="running")
        job.chunks_total = chunks + 1
        session.add(job)
        session.flush()
        session.add_all(
            JobChunk(job_id=job.id, index=i, start_row=i, rows=1) for i in range(chunks + 1)
        )
        job_id = job.id
    engine.dispose()
    return job_id


def _client(url: str, job_id: str, indices: list[int], start_at: float) -> dict[str, list[float]]:
    """One worker's claim / renew / complete of its chunks; latencies per transition."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:  # connect before the clock starts
        session.execute(select(Job.id).where(Job.id == job_id))
    out: dict[str, list[float]] = {"claim": [], "renew": [], "complete": []}
    while time.time() < start_at:
        time.sleep(0.001)
    for index in indices:
        t0 = time.perf_counter()
        with session_scope(sessions) as session:
            token = leases.claim_chunk(session, job_id, index, LEASE_S)
        t1 = time.perf_counter()
        assert token is not None
        with session_scope(sessions) as session:
            chunk_id = session.scalar(
                select(JobChunk.id).where(JobChunk.job_id == job_id, JobChunk.index == index)
            )
            assert chunk_id is not None
            leases.renew_chunk(session, chunk_id, job_id, token, LEASE_S, 1)
        t2 = time.perf_counter()
        with session_scope(sessions) as session:
            assert complete_chunk(session, job_id, chunk_id, 1, token, LEASE_S).done
        t3 = time.perf_counter()
        out["claim"].append(t1 - t0)
        out["renew"].append(t2 - t1)
        out["complete"].append(t3 - t2)
    engine.dispose()
    return out


def db_contention(url: str, clients: list[int], per_client: int) -> dict[int, dict[str, Any]]:
    """Transition latencies with k concurrent clients (processes) on one job's chunks."""
    results: dict[int, dict[str, Any]] = {}
    for k in [clients[0], *clients]:  # the first run warms the server and is dropped
        job_id = seed_job(url, k * per_client)
        start_at = time.time() + 3.0  # every process imported and connected by then
        with ProcessPoolExecutor(k, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_client, url, job_id, list(range(c, k * per_client, k)), start_at)
                for c in range(k)
            ]
            parts = [f.result() for f in futures]
        wall = max(sum(sum(p[name]) for name in p) for p in parts)
        merged = {name: [x for p in parts for x in p[name]] for name in parts[0]}
        results[k] = {name: summary(values) for name, values in merged.items()}
        results[k]["transitions_per_s"] = 3 * k * per_client / wall
    return results


def finalize_reads(url: str, chunks: int, repeat: int) -> dict[str, float]:
    """Reading a job's chunk rows in order, as finalize does to build the manifest."""
    job_id = seed_job(url, chunks - 1)
    engine = make_engine(url)
    sessions = make_session_factory(engine)

    def once() -> None:
        with session_scope(sessions) as session:
            rows = session.scalars(
                select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.index)
            ).all()
            assert len(rows) == chunks

    try:
        once()  # warm: the connection and the plan
        return summary(timed(once, repeat))
    finally:
        engine.dispose()


# -- store ------------------------------------------------------------------------------
def store_costs(store: ArtifactStore, part: Path, repeat: int) -> dict[str, Any]:
    """PUT and GET of a part-sized file, HEAD of a part (finalize checks each one)."""
    key = "scale/parts/part-00000.parquet"
    back = part.with_name("back.parquet")
    store.put_file(part, key)  # warm: the first write creates the bucket's volumes
    store.get_file(key, back)
    put = timed(lambda: store.put_file(part, key), repeat)
    get = timed(lambda: store.get_file(key, back), repeat)
    head = timed(lambda: store.info(key), 10 * repeat)
    size = part.stat().st_size
    back.unlink(missing_ok=True)
    store.delete_prefix("scale/")
    return {
        "bytes": size,
        "put": summary(put),
        "get": summary(get),
        "head": summary(head),
        "put_mb_s": size / statistics.median(put) / 1e6,
        "get_mb_s": size / statistics.median(get) / 1e6,
    }


def manifest_cost(store: ArtifactStore, parts: int, repeat: int) -> dict[str, Any]:
    """Writing the manifest of a job of `parts` parts."""
    manifest = Manifest(
        job_id="job-scale",
        model_id=None,
        synthesizer="chain",
        seed=1,
        format="parquet",
        rows=parts * 1_000_000,
        created_at="2026-01-01T00:00:00Z",
        parts=tuple(
            PartEntry(i, f"parts/part-{i:05d}.parquet", 1_000_000, 50_000_000, "0" * 64)
            for i in range(parts)
        ),
    )
    key = "scale/manifest.json"
    write_manifest(store, key, manifest)  # warm
    times = timed(lambda: write_manifest(store, key, manifest), repeat)
    store.delete_prefix("scale/")
    return {"parts": parts, "bytes": len(manifest.to_json()), **summary(times)}


def scratch_dir() -> Path:
    """A private temporary directory for parts and stores."""
    return Path(tempfile.mkdtemp(prefix="synthdata-scale-"))
