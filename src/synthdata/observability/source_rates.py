"""The per-source request rates of every server process, for the gauge one of them renders.

With `serve --workers N` each process sees only its share of a source's requests and
keeps its own windowed heavy hitters. prometheus_client's multiprocess files cannot
carry them: a gauge child written there can never be removed ("not implemented in
multi-process mode"), so recycled source labels would pile up for the life of the
run. Instead each process replaces a small snapshot file of its current leaders
(`source_rates_<pid>.json`, at most `top` entries) in `PROMETHEUS_MULTIPROC_DIR` every
time it folds its request counts (each second), and the process answering a scrape
adds up the snapshots that are fresh. A process that died stops refreshing its file;
after `STALE_SECONDS` it no longer counts, and its file is removed at exit when it can be.
"""

from __future__ import annotations

import glob
import json
import os
import time
from pathlib import Path

PREFIX = "source_rates_"
STALE_SECONDS = 5.0  # five missed folds


def snapshot_path(directory: str, pid: int | None = None) -> Path:
    return Path(directory) / f"{PREFIX}{os.getpid() if pid is None else pid}.json"


def write_snapshot(directory: str, rates: dict[str, float]) -> None:
    """Replace this process's snapshot (atomically: a reader never sees half a file)."""
    path = snapshot_path(directory)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(rates))
    os.replace(partial, path)


def remove_snapshot(directory: str) -> None:
    snapshot_path(directory).unlink(missing_ok=True)


def merged_rates(directory: str, now: float | None = None) -> dict[str, float]:
    """Every fresh snapshot in `directory`, added up per source."""
    now = time.time() if now is None else now
    total: dict[str, float] = {}
    for name in glob.glob(os.path.join(directory, f"{PREFIX}*.json")):
        try:
            if now - os.path.getmtime(name) > STALE_SECONDS:
                continue
            with open(name, encoding="utf-8") as stream:
                rates = json.load(stream)
        except (OSError, ValueError):  # replaced or removed while read: next scrape has it
            continue
        for source, rate in rates.items():
            total[source] = total.get(source, 0.0) + float(rate)
    return total
