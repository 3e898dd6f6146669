"""Chunked parallelism: one big generation job run by one `synthdata worker`, then by two.

The API runs with no job threads and the Redis queue; the workers are separate
processes sharing its SQLite database and data directory. The job samples a model
trained beforehand (so both runs time only the chunks and the join), split into
`SYNTHDATA_JOB_CHUNK_ROWS`-row chunks that any worker may take.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from benchmarks import service_processes as sp
from benchmarks.datasets import make_mixed_table, write_frame_csv
from synthdata import Client

SEED = 0
SOURCE_ROWS = 20_000


def _train(server: sp.Proc, key: str, dataset_id: str, timeout: float = 300.0) -> str:
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=30) as http:
        model = http.post("/models", json={"dataset_id": dataset_id}).raise_for_status().json()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = http.get(f"/models/{model['id']}").raise_for_status().json()["state"]
            if state == "ready":
                return str(model["id"])
            if state == "failed":
                raise RuntimeError(f"training failed: {model}")
            time.sleep(0.2)
    raise RuntimeError("the model was not trained in time")


def _job_run(client: Client, model_id: str, rows: int) -> dict[str, Any]:
    started = time.perf_counter()
    job = client.generate(model_id=model_id, rows=rows, seed=SEED, poll_interval=0.2)
    elapsed = time.perf_counter() - started
    running = None
    if job.get("started_at") and job.get("finished_at"):
        running = (
            datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
        ).total_seconds()
    return {
        "seconds": round(elapsed, 2),
        "job_running_s": None if running is None else round(running, 2),
        "chunks": job["chunks_total"],
        "result_bytes": job["result_bytes"],
        "job_id": job["id"],
    }


def _cleanup_redis(url: str, tag: str) -> int:
    client = redis.Redis.from_url(url)
    names = list(client.scan_iter(match=f"*{tag}*", count=1000))
    if names:
        client.delete(*names)
    return len(names)


def run_chunks(args: argparse.Namespace, work: Path, log: Callable[..., None]) -> dict[str, Any]:
    """Time the same job with one worker process and with two."""
    rows, chunk_rows = (1_000_000, 125_000) if args.quick else (10_000_000, 1_000_000)
    tag = f"svcbench-{uuid.uuid4().hex[:8]}"
    home = work / "chunks"
    env = sp.base_env(
        home,
        SYNTHDATA_QUEUE="redis",
        SYNTHDATA_REDIS_URL=args.redis_url,
        SYNTHDATA_QUEUE_NAME=tag,
        SYNTHDATA_RATE_LIMIT_PREFIX=f"{tag}:rl",
        SYNTHDATA_JOB_CHUNK_ROWS=str(chunk_rows),
        SYNTHDATA_SERVE_WORKERS="0",
    )
    _, key = sp.create_customer_key(env)
    source = write_frame_csv(make_mixed_table(SOURCE_ROWS, seed=SEED), work / "source.csv")
    out: dict[str, Any] = {
        "rows": rows,
        "chunk_rows": chunk_rows,
        "queue": "redis",
        "source_rows": SOURCE_ROWS,
    }
    log(f"chunks: {rows:,} rows in {rows // chunk_rows} chunks, 1 worker vs 2 workers")
    # Unlimited, one worker's NumPy and Arrow threads already use most of the two
    # cores, so a second worker has little left to add. Scaling out means adding
    # identical workers, each given its share of the machine: the target run gives
    # every worker one CPU thread (SYNTHDATA_WORKER_CPU_THREADS=1, as a one-CPU
    # container limit would), for one worker and for two alike.
    variants: tuple[tuple[str, dict[str, str]], ...] = (
        ("", {}),
        ("one_thread_", {"SYNTHDATA_WORKER_CPU_THREADS": "1"}),
    )
    try:
        with sp.serve("serve-chunks", env, work / "logs") as server, Client(server.url, key) as c:
            dataset = c.upload(source)
            for prefix, limits in variants:
                for count in (1, 2):
                    name = f"chunks-{prefix}{count}"
                    worker_env = {**env, **limits}
                    with sp.workers(count, worker_env, work / "logs", name) as procs:
                        if "model_id" not in out:
                            out["model_id"] = _train(server, key, dataset["id"])
                        for proc in procs:
                            proc.mark_cpu()
                        run = _job_run(c, out["model_id"], rows)
                        run["worker_cpu_s"] = [round(p.cpu_since_mark(), 1) for p in procs]
                    out[f"{prefix}workers_{count}"] = run
                    log(
                        f"  {count} worker(s){' (one CPU thread each)' if limits else ''}: "
                        f"{run['seconds']:.1f} s (worker CPU {run['worker_cpu_s']} s)"
                    )
    finally:
        out["redis_keys_removed"] = _cleanup_redis(args.redis_url, tag)
    for prefix, _ in variants:
        one, two = out[f"{prefix}workers_1"]["seconds"], out[f"{prefix}workers_2"]["seconds"]
        out[f"{prefix}speedup"] = round(one / two, 2) if two else None
    return out
