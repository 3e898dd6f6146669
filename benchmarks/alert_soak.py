"""A healthy soak: production timing, steady load, long jobs; the target is 0 notifications.

On one ProductionStack (benchmarks/alert_production.py) with every shipped alert
loaded: SteadyLoad over the customer routes with a valid key, and generation jobs
sized to run 20+ minutes each on this machine. The size comes from a measurement: a
calibration job first gives the worker's rows per second, and the long jobs ask for
that rate times JOB_TARGET_S (the stack raises the service's per-job row ceiling so
that the size is not cut; a cut would be reported). Two long jobs are queued at once
for the one worker thread: the second waits behind the first for its whole run, so
work is queued while the worker is busy and progressing (chunks complete) - the case
GenerationQueueStalled must stay quiet for - and the first job ends after a long run
(GenerationSuccessRateLow must read it as one success). Every notification that
arrives, from the stack's start to the end, is recorded with its alert names; so are
the alerts still pending at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.alert_faults import warm_up
from benchmarks.alert_load import SteadyLoad
from benchmarks.alert_production import ProductionStack
from benchmarks.alert_receiver import TimedReceiver, distinct_groups, notifications
from benchmarks.datasets import make_mixed_table, write_frame_csv
from synthdata import Client

JOB_TARGET_S = 21 * 60
CALIBRATION_ROWS = 2_000_000
SOURCE_ROWS = 20_000
JOB_FORMAT = "parquet"  # smaller on disk than CSV for the same rows
SEED = 0


def _running_seconds(job: dict[str, Any]) -> float:
    started = datetime.fromisoformat(job["started_at"])
    return (datetime.fromisoformat(job["finished_at"]) - started).total_seconds()


def _train(client: Client, home: Path) -> str:
    source = write_frame_csv(make_mixed_table(SOURCE_ROWS, seed=SEED), home / "source.csv")
    dataset = client.upload(source)
    return str(client.train(dataset["id"], poll_interval=1, timeout=600)["id"])


def calibrate(client: Client, model_id: str) -> dict[str, Any]:
    """Rows per second of one job on this machine's worker (CALIBRATION_ROWS rows)."""
    job = client.generate(
        model_id=model_id, rows=CALIBRATION_ROWS, seed=SEED, format=JOB_FORMAT, poll_interval=1
    )
    seconds = _running_seconds(job)
    return {
        "rows": CALIBRATION_ROWS,
        "running_s": round(seconds, 1),
        "rows_per_s": round(CALIBRATION_ROWS / seconds),
    }


def run_soak(
    minutes: float,
    home: Path,
    receiver: TimedReceiver,
    names: list[str],
    log: Callable[[str], None],
    jobs: int = 2,
) -> dict[str, Any]:
    stack = ProductionStack(home, receiver)
    created = time.monotonic()
    try:
        stack.start()
        with (
            Client(stack.api_url, stack.api_key) as client,
            SteadyLoad(stack.api_url, stack.api_key) as load,
        ):
            warm_up(stack, 60)
            model_id = _train(client, home)
            calibration = calibrate(client, model_id)
            max_rows = int(stack.service_env["SYNTHDATA_MAX_JOB_ROWS"])
            rows = min(max_rows, round(calibration["rows_per_s"] * JOB_TARGET_S))
            log(f"soak: {calibration['rows_per_s']:,} rows/s -> jobs of {rows:,} rows")
            start = time.monotonic()
            ids = [
                client.generate(
                    model_id=model_id, rows=rows, seed=SEED + i + 1, format=JOB_FORMAT, wait=False
                )["id"]
                for i in range(jobs)
            ]
            progress: list[dict[str, Any]] = []
            while time.monotonic() < start + minutes * 60:
                time.sleep(min(60.0, max(0.0, start + minutes * 60 - time.monotonic())))
                states = [client.job(job_id) for job_id in ids]
                elapsed = round((time.monotonic() - start) / 60, 1)
                progress.append(
                    {
                        "minute": elapsed,
                        "jobs": [
                            f"{j['state']} {j['chunks_done']}/{j['chunks_total']}" for j in states
                        ],
                        "active_alerts": sorted(
                            f"{a.get('alertname')} {a.get('alertstate')}"
                            for a in stack.active_alerts()
                        ),
                        "notifications": len(notifications(receiver, names, created)),
                    }
                )
                log(f"soak {elapsed} min: {progress[-1]}")
            ended = time.monotonic()
            final = [client.job(job_id) for job_id in ids]
            pending = sorted(
                f"{a.get('alertname')} {a.get('alertstate')}" for a in stack.active_alerts()
            )
            statuses = load.snapshot()
            for job in final:
                if job["state"] in ("queued", "running"):
                    client.cancel(job["id"])
        seen = notifications(receiver, names, created, ended)
        return {
            "minutes": minutes,
            "calibration": calibration,
            "job_rows": rows,
            "job_rows_capped": rows == max_rows,
            "job_target_s": JOB_TARGET_S,
            "expected_job_s": round(rows / calibration["rows_per_s"]),
            "jobs": [
                {
                    k: job[k]
                    for k in ("id", "state", "rows", "rows_done", "chunks_done", "chunks_total")
                }
                | {"started_at": job["started_at"], "finished_at": job["finished_at"]}
                for job in final
            ],
            "progress": progress,
            "notifications": [
                {
                    "t_s": round(n["t"] - start, 1),
                    "kind": n["kind"],
                    "action": n["action"],
                    "alertnames": n["alertnames"],
                    "text": n["text"],
                }
                for n in seen
            ],
            "groups": [g["alertnames"] for g in distinct_groups(seen)],
            "active_at_end": pending,
            "load_statuses": statuses,
            "load_requests": sum(statuses.values()),
        }
    finally:
        stack.stop()
