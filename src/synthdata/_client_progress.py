"""What `Client(...).generate(..., progress=True)` prints: a line per step, on stderr.

Plain lines, no terminal control codes: the output reads the same in a terminal, a
notebook and a log file. A running job prints a line per tenth of its rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any


def _size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{amount:,.0f} {unit}" if unit == "bytes" else f"{amount:,.1f} {unit}"
        amount /= 1000
    raise AssertionError("unreachable")


class ProgressPrinter:
    """Prints each step of an upload, a job and a download; call it with each job state."""

    def __init__(self) -> None:
        self._last: tuple[str, int] | None = None
        self._started = time.monotonic()

    def _say(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def uploading(self, path: Path) -> None:
        self._say(f"uploading {path.name} ({_size(path.stat().st_size)})")

    def uploaded(self, dataset: dict[str, Any]) -> None:
        self._say(
            f"dataset {dataset['id']}: {dataset['rows']:,} rows, {dataset['columns']} columns"
        )

    def __call__(self, job: dict[str, Any]) -> None:
        state = job["state"]
        tenth = int(float(job.get("progress") or 0) * 10)
        if (state, tenth) == self._last:
            return
        self._last = (state, tenth)
        name, rows = f"job {job['id']}", job.get("rows") or 0
        if state == "running" and rows:
            done = job.get("rows_done") or 0
            self._say(f"{name} running: {tenth * 10}% ({done:,} of {rows:,} rows)")
        elif state == "succeeded":
            took = f"after {time.monotonic() - self._started:.1f} s"
            self._say(f"{name} succeeded: {rows:,} rows ({took})" if rows else f"{name} succeeded")
        elif state in ("failed", "cancelled"):
            self._say(f"{name} {state}: {job.get('error') or 'no reason given'}")
        else:
            self._say(f"{name} {state}")

    def downloading(self, job: dict[str, Any], path: Path) -> None:
        size = job.get("result_bytes")
        self._say(f"downloading {_size(size) + ' ' if size else ''}to {path}")

    def written(self, job: dict[str, Any], path: Path) -> None:
        size = _size(path.stat().st_size)
        self._say(f"wrote {job['rows']:,} synthetic rows ({size}) to {path}")
