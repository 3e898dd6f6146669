"""Benchmark runs on disk: one JSON file per run under `data_dir/performance/`.

A file is named after the run's start (UTC) so that a directory listing is in time
order, and is written whole or not at all. Readers skip files they cannot parse
(and say how many), so one damaged file never hides the rest.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthdata.engine.atomic import create_beside

SCHEMA = 1
# Upper bounds (ms) of the stored latency histogram; the last bucket is everything above.
HISTOGRAM_BOUNDS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 2000, 5000, 10000)


def runs_dir(data_dir: Path) -> Path:
    """Where runs are stored for a deployment whose data lives in `data_dir`."""
    return data_dir / "performance"


def latency_histogram(latencies_ms: list[float]) -> dict[str, list[Any]]:
    """Counts per bucket (not cumulative): `le` is each bucket's upper bound in ms."""
    counts = [0] * (len(HISTOGRAM_BOUNDS_MS) + 1)
    for value in latencies_ms:
        index = next((i for i, b in enumerate(HISTOGRAM_BOUNDS_MS) if value <= b), -1)
        counts[index] += 1
    return {"le": [*HISTOGRAM_BOUNDS_MS, "+Inf"], "counts": counts}


def save_run(run: dict[str, Any], directory: Path) -> Path:
    """Write `run` (which has `started_at`) as a new file in `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    started = datetime.fromisoformat(run["started_at"]).astimezone(UTC)
    name = f"run-{started:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}.json"
    target = directory / name
    tmp = create_beside(target)  # mode 0666 less the umask, as a plain write gives
    with tmp.open("w") as sink:
        json.dump({"schema": SCHEMA, **run}, sink, indent=2, default=str)
        sink.write("\n")
    os.replace(tmp, target)
    return target


@dataclass
class StoredRuns:
    """The runs found in a time window, oldest first, and the files that were skipped."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def started_at(run: dict[str, Any]) -> datetime:
    """A run's start as an aware UTC datetime."""
    moment = datetime.fromisoformat(run["started_at"])
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def load_runs(directory: Path, start: datetime, end: datetime) -> StoredRuns:
    """Runs that started in [start, end), oldest first."""
    found = StoredRuns()
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("run-*.json")):
        try:
            run = json.loads(path.read_text())
            moment = started_at(run)
        except (OSError, ValueError, KeyError, TypeError):
            found.skipped.append(path.name)
            continue
        if start <= moment < end:
            run["file"] = path.name
            found.runs.append(run)
    found.runs.sort(key=started_at)
    return found
