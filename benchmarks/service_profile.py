"""Where a server process spends its CPU per request: py-spy samples, grouped by concern.

py-spy samples the live `synthdata serve` (non-blocking, so the server is not paused;
only the thread holding the GIL, so waiting threads do not count) while the load
generator drives it. Each sample is charged to the innermost frame of
its stack that names a concern (auth lookup, rate limiter, SQLite BEGIN, endpoint,
middleware, HTTP parsing, ...), so the shares add up to 100 %.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("SQLite BEGIN IMMEDIATE (write lock per session)", ("_begin (synthdata/service/core/db.py",)),
    ("API key lookup (SQL query)", ("authenticate", "customers/service.py")),
    ("rate limiter", ("RateLimiter.",)),
    ("key last-used write", ("Activity.",)),
    ("DB session open/close (rollback, pool)", ("get_session (synthdata/service/deps.py",)),
    ("endpoint body (query + response model)", ("synthdata/service/usage/", "datasets/views.py")),
    ("response validation + JSON", ("serialize_response", "Response.render", "jsonable_encoder")),
    ("log lines (JSON formatting + write)", ("logging/__init__.py", "structlog/")),
    (
        "metrics + tracing middleware",
        (
            "synthdata/service/observe.py",
            "synthdata/observability/",
            "prometheus_client/",
            "opentelemetry/",
        ),
    ),
    ("request-id middleware", ("synthdata/service/core/middleware.py",)),
    (
        "thread-pool hand-off (anyio, locks)",
        ("threading.py", "anyio/", "queue.py", "run_in_threadpool", "concurrency.py"),
    ),
    ("FastAPI/Starlette routing + dependencies", ("fastapi/", "starlette/", "pydantic")),
    ("HTTP parsing/writing (uvicorn)", ("uvicorn/", "h11/", "httptools")),
    ("socket I/O + event loop", ("asyncio/", "selectors.py", "uvloop")),
]
"""(concern, substrings of a frame "function (file)"); the first that matches wins."""

_LINE = re.compile(r":\d+\)")


def available() -> str | None:
    """The py-spy executable, if installed (next to this Python, or on PATH)."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, rate: int = 100) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `seconds`; wait on the returned process, then `summarize`."""
    exe = available()
    if exe is None:
        raise RuntimeError("py-spy is not installed")
    command = [
        exe, "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking", "--gil",
        "--subprocesses", "--duration", str(int(seconds)), "--format", "raw", "-o", str(out),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _concern(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return "other (interpreter, startup, job threads)"


def summarize(raw: Path, cpu_us_per_request: float | None) -> dict[str, Any]:
    """Shares of the samples per concern, and what each costs per request in microseconds."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        counts[_concern(frames)] += int(number)
        total += int(number)
    rows = []
    for name, count in counts.most_common():
        share = count / total if total else 0.0
        per_request = None if cpu_us_per_request is None else round(share * cpu_us_per_request)
        rows.append({"concern": name, "share": round(share, 4), "us_per_request": per_request})
    return {"samples": total, "cpu_us_per_request": cpu_us_per_request, "concerns": rows}


_THREAD = re.compile(r'^Thread (\S+) \((\w+)\): "(.*)"')


def dump_threads(pid: int) -> dict[str, Any]:
    """What every thread of a stalled server is doing (`py-spy dump`), grouped.

    Each thread is named by its innermost frame in `synthdata` code and its innermost
    frame overall (what it is blocked on); threads with the same pair are counted.
    """
    exe = available()
    if exe is None:
        return {}
    done = subprocess.run(
        [exe, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60, check=False
    )
    groups: collections.Counter[tuple[str, str]] = collections.Counter()
    frames: list[str] = []
    threads = 0

    def close() -> None:
        if not frames:
            return
        ours = next((f for f in frames if "synthdata/" in f), "-")
        groups[(_LINE.sub(")", ours), _LINE.sub(")", frames[0]))] += 1

    for line in done.stdout.splitlines():
        if _THREAD.match(line):
            close()
            frames = []
            threads += 1
        elif line.startswith("    ") and line.strip():
            frames.append(line.strip())
    close()
    return {
        "threads": threads,
        "groups": [
            {"threads": n, "synthdata_frame": ours, "innermost_frame": leaf}
            for (ours, leaf), n in groups.most_common()
        ],
    }
