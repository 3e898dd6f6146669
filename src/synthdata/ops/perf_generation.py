"""One small generation job through the public API, timed end to end.

Upload a CSV made on the spot, start a job, poll until it is final, download the
result: what a customer waits for, compared with the runbook's size-class baseline.
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from synthdata.observability.metrics import size_class

INPUT_ROWS = 500
OUTPUT_ROWS = 1000
_SEGMENTS = ("retail", "smb", "enterprise")


@dataclass
class GenerationResult:
    """How long the job took, from the first byte uploaded to the last downloaded."""

    size_class: str
    input_bytes: int
    rows: int
    seconds: float | None
    job_id: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_sample_csv(path: Path, rows: int = INPUT_ROWS, seed: int = 7) -> Path:
    """A small customer-like table (numbers, a category, a date)."""
    rng = random.Random(seed)
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["customer_id", "age", "income", "segment", "signup_date"])
        for i in range(rows):
            writer.writerow(
                [
                    i + 1,
                    rng.randint(18, 90),
                    round(rng.lognormvariate(10.5, 0.5), 2),
                    rng.choice(_SEGMENTS),
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                ]
            )
    return path


def run_generation(url: str, api_key: str, timeout_s: float) -> GenerationResult:
    """Upload, generate, wait (at most `timeout_s`), download; never raises for the
    service's failures: they come back in `error`."""
    from synthdata.client import Client, JobFailedError, ServiceError

    with tempfile.TemporaryDirectory(prefix="synthdata-perf-") as tmp:
        source = write_sample_csv(Path(tmp) / "benchmark-input.csv")
        size = source.stat().st_size
        result = GenerationResult(size_class(size), size, OUTPUT_ROWS, None)
        started = time.perf_counter()
        try:
            with Client(url, api_key) as client:
                dataset = client.upload(source, name="performance-benchmark")
                job = client.generate(
                    dataset_id=dataset["id"], rows=OUTPUT_ROWS, seed=7, wait=False
                )
                result.job_id = job["id"]
                client.wait(job["id"], poll_interval=0.25, timeout=timeout_s)
                client.download(job["id"], Path(tmp) / "synthetic.csv")
        except (ServiceError, JobFailedError, TimeoutError, httpx.HTTPError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = round(time.perf_counter() - started, 3)
    return result
