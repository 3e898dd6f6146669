"""What the abuse benchmark measures: server memory, the bystander's latency, disk left.

- `RssSampler`: the server's resident memory (the process and all its children),
  sampled every 50 ms on a thread, kept as (time, bytes) so each attack phase can
  take its own peak.
- `latency_in`: the bystander's answers due inside a window: p50 / p95 of the latency
  from the due time, and every status it got.
- `disk_state`: bytes in the data directory, and the files no database row refers to
  (a dataset's, a model's file, a job's result), plus the server's temporary
  directory. Files of jobs and models still being worked on are in use, not left over.
"""

from __future__ import annotations

import collections
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.loadgen import percentiles

SAMPLE_EVERY_S = 0.05
# Files of the platform itself, not of any tenant: the local job queue, the model cache.
_INFRASTRUCTURE = ("queue.db", "cache/")
_LIVE_JOB_STATES = ("queued", "running")


class RssSampler:
    """Samples the resident memory of a process tree every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss(self.pid)
            if rss:
                self.samples.append((time.monotonic(), rss))
            self._stop.wait(SAMPLE_EVERY_S)

    def peak(self, start: float, end: float) -> int:
        """The highest sample in [start, end], counting the samples just before and
        just after it too (a phase shorter than 50 ms may hold none of its own)."""
        inside = [rss for t, rss in self.samples if start <= t <= end]
        before = [rss for t, rss in self.samples if t < start][-1:]
        after = [rss for t, rss in self.samples if t > end][:1]
        return max(inside + before + after, default=0)

    def at(self, moment: float) -> int:
        """The last sample taken at or before `moment`."""
        before = [rss for t, rss in self.samples if t <= moment]
        return before[-1] if before else 0


def tree_rss(pid: int) -> int:
    """Resident bytes of process `pid` and all its children (0 once it is gone)."""
    try:
        root = psutil.Process(pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return 0


def latency_in(records: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """The bystander's requests due in [start, end]: latency percentiles and statuses.

    Requests that failed or were still unanswered count with the time they took (a
    hang is charged), and are also listed among the statuses.
    """
    chosen = [r for r in records if start <= r["due"] <= end]
    statuses = collections.Counter(str(r["status"]) for r in chosen)
    stats = percentiles([r["ms"] for r in chosen])
    errors = sum(n for s, n in statuses.items() if not (s.isdigit() and int(s) < 400))
    return {
        "requests": len(chosen),
        "p50_ms": stats.get("p50"),
        "p95_ms": stats.get("p95"),
        "max_ms": stats.get("max"),
        "statuses": dict(statuses),
        "errors": errors,
    }


def _referenced(db_path: Path) -> tuple[set[str], list[str]]:
    """Relative paths rows refer to, and the folders of work still in progress."""
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=10) as db:
        paths = {p for (p,) in db.execute("SELECT path FROM datasets") if p}
        paths |= {p for (p,) in db.execute("SELECT path FROM models") if p}
        paths |= {p for (p,) in db.execute("SELECT result_path FROM jobs") if p}
        marks = ",".join("?" * len(_LIVE_JOB_STATES))
        live = [
            f"customers/{customer}/jobs/{job}/"
            for job, customer in db.execute(
                f"SELECT id, customer_id FROM jobs WHERE state IN ({marks})", _LIVE_JOB_STATES
            )
        ]
        live += [
            f"customers/{customer}/models/{model}/"
            for model, customer in db.execute(
                "SELECT id, customer_id FROM models WHERE state = 'training'"
            )
        ]
    return paths, live


def _listed_parts(data_dir: Path, referenced: set[str]) -> set[str]:
    """The part files a referenced result manifest lists (no row names them itself)."""
    parts: set[str] = set()
    for rel in referenced:
        if rel.endswith("/manifest.json") and (data_dir / rel).is_file():
            folder = rel.rsplit("/", 1)[0]
            manifest = json.loads((data_dir / rel).read_text())
            parts |= {f"{folder}/{part['key']}" for part in manifest["parts"]}
    return parts


def _files(root: Path) -> dict[str, int]:
    sizes = {}
    if root.exists():
        for path in root.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    sizes[path.relative_to(root).as_posix()] = path.stat().st_size
            except OSError:  # removed while we looked
                continue
    return sizes


def disk_state(data_dir: Path, db_path: Path, tmp_dir: Path) -> dict[str, Any]:
    """Bytes in the data directory; files no row refers to (`orphans`, path -> bytes),
    those of work in progress (`in_use_bytes`), and bytes in the server's TMPDIR."""
    files = _files(data_dir)
    referenced, live = _referenced(db_path)
    referenced |= _listed_parts(data_dir, referenced)
    orphans: dict[str, int] = {}
    in_use = 0
    for rel, size in files.items():
        if rel in referenced or rel.startswith(_INFRASTRUCTURE):
            continue
        if any(rel.startswith(folder) for folder in live):
            in_use += size
        else:
            orphans[rel] = size
    temp = _files(tmp_dir)
    orphans.update({f"$TMPDIR/{rel}": size for rel, size in temp.items()})
    return {
        "data_dir_bytes": sum(files.values()),
        "tmp_bytes": sum(temp.values()),
        "in_use_bytes": in_use,
        "orphans": orphans,
    }


def disk_left(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an attack left: new orphan files and bytes, growth of the data directory."""
    new = {p: s for p, s in after["orphans"].items() if p not in before["orphans"]}
    largest = sorted(new.items(), key=lambda item: -item[1])[:8]
    return {
        "orphan_bytes": sum(new.values()),
        "orphan_files": len(new),
        "largest_orphans": dict(largest),
        "data_dir_growth_bytes": after["data_dir_bytes"] - before["data_dir_bytes"],
        "tmp_bytes": after["tmp_bytes"],
        "in_use_bytes": after["in_use_bytes"],
    }
