"""End to end through `synthdata.Client`: upload a CSV, generate as many rows, download.

The clock runs from the first byte of the upload to the last byte of the download,
against `synthdata serve` on the embedded default (SQLite, local queue, job threads
inside the server), as a customer would see it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import service_processes as sp
from benchmarks.datasets import make_mixed_table, write_frame_csv
from synthdata import Client

SEED = 0
_PROBE_ROWS = 20_000


def rows_for_bytes(target_bytes: int, work: Path) -> int:
    """Rows of the benchmark table whose CSV is about `target_bytes` long."""
    probe = write_frame_csv(make_mixed_table(_PROBE_ROWS, seed=SEED), work / "probe.csv")
    per_row = probe.stat().st_size / _PROBE_ROWS
    probe.unlink()
    return max(100, round(target_bytes / per_row))


def _count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1


def _seconds(job: dict[str, Any], start: str, end: str) -> float | None:
    if not job.get(start) or not job.get(end):
        return None
    return round(
        (datetime.fromisoformat(job[end]) - datetime.fromisoformat(job[start])).total_seconds(), 3
    )


def one_run(client: Client, csv: Path, rows: int, work: Path) -> dict[str, Any]:
    """Upload, generate (waiting), download; the time of each step and in total."""
    started = time.perf_counter()
    dataset = client.upload(csv)
    uploaded = time.perf_counter()
    job = client.generate(dataset_id=dataset["id"], rows=rows, seed=SEED, poll_interval=0.05)
    generated = time.perf_counter()
    out = client.download(job["id"], work / f"{job['id']}.csv")
    finished = time.perf_counter()
    downloaded_rows = _count_rows(out)
    size = out.stat().st_size
    out.unlink()
    return {
        "total_s": round(finished - started, 3),
        "upload_s": round(uploaded - started, 3),
        "job_s": round(generated - uploaded, 3),
        "download_s": round(finished - generated, 3),
        "job_queued_s": _seconds(job, "created_at", "started_at"),
        "job_running_s": _seconds(job, "started_at", "finished_at"),
        "chunks": job.get("chunks_total"),
        "rows_downloaded": downloaded_rows,
        "result_bytes": size,
    }


def measure(
    client: Client, label: str, target_bytes: int, repeat: int, work: Path, log: Callable[..., None]
) -> dict[str, Any]:
    """Write a CSV of about `target_bytes`, then time `repeat` round trips with it."""
    rows = rows_for_bytes(target_bytes, work)
    csv = write_frame_csv(make_mixed_table(rows, seed=SEED), work / f"{label}.csv")
    runs = []
    for attempt in range(repeat):
        run = one_run(client, csv, rows, work)
        log(
            f"  {label} ({csv.stat().st_size / 1e6:.1f} MB, {rows:,} rows) run {attempt + 1}: "
            f"{run['total_s']:.2f} s (upload {run['upload_s']:.2f}, job {run['job_s']:.2f}, "
            f"download {run['download_s']:.2f})"
        )
        runs.append(run)
    size = csv.stat().st_size
    csv.unlink()
    totals = [r["total_s"] for r in runs]
    return {
        "rows": rows,
        "csv_bytes": size,
        "median_s": round(statistics.median(totals), 3),
        "best_s": min(totals),
        "runs": runs,
    }


def run_e2e(args: argparse.Namespace, work: Path, log: Callable[..., None]) -> dict[str, Any]:
    """The ~1 MB and the ~100 MB round trips on a fresh embedded server."""
    home = work / "e2e"
    env = sp.base_env(home)
    _, key = sp.create_customer_key(env)
    sizes = [("1MB", 1_000_000, 3), ("100MB", 100_000_000, 1)]
    if args.quick:
        sizes = [("1MB", 1_000_000, 1), ("10MB", 10_000_000, 1)]
    out: dict[str, Any] = {"server": "embedded default: SQLite, local queue, 2 job threads"}
    log("e2e: upload, generate, download with synthdata.Client")
    with sp.serve("serve-e2e", env, work / "logs") as server, Client(server.url, key) as client:
        for label, target, repeat in sizes:
            out[label] = measure(client, label, target, repeat, work, log)
    return out
