"""The runbook's performance benchmark: open-loop load on a running service, judged
against the "Performance Baselines".

API baselines: P95 < 500 ms, error rate < 0.1 %, and the requested rate achieved
within 5 %. "> 1000 RPS" is a capacity baseline: it is judged only when the run asks
for 1000/s or more, and otherwise shown as not tested. Generation baselines are per
size class of the input (< 1 MB: 30 s, 1-100 MB: 5 min, > 100 MB: 30 min).

The error rate counts every request that did not get a 2xx/3xx answer in time
(5xx, 4xx such as 429, lost connections, timeouts): from the client's side they
all failed. Latency is measured from each request's scheduled time (see
`synthdata.ops.loadgen`), so a stalled server is charged for every request it held up.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from synthdata import __version__
from synthdata.ops.loadgen import ProgressCallback, run_load_sync
from synthdata.ops.perf_generation import GenerationResult
from synthdata.ops.perf_store import latency_histogram
from synthdata.ops.report import Status

P95_BASELINE_MS = 500.0
ERROR_RATE_BASELINE = 0.001  # 0.1 %
THROUGHPUT_TOLERANCE = 0.05  # the requested rate, achieved within 5 %
CAPACITY_RPS = 1000.0
GENERATION_BASELINE_S = {"small": 30.0, "medium": 300.0, "large": 1800.0}


@dataclass
class Check:
    """One baseline compared with what was measured."""

    name: str
    status: Status  # ok | fail | info
    detail: str
    measured: float | None = None
    baseline: str = ""


@dataclass
class BenchmarkPlan:
    """What to run: where, how hard, for how long, with which headers."""

    url: str
    endpoint: str
    rps: float
    duration_s: float
    headers: list[str] = field(default_factory=list)
    warmup_s: float = 0.0
    connections: int = 64
    # How long answers still count after the last request was sent: long enough that a
    # service in a latency incident (p95 of several seconds) is measured, not written off
    # as timeouts.
    drain_s: float = 30.0


def _errors_by_status(errors: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(errors.items())) or "none"


def judge(run: dict[str, Any]) -> list[Check]:
    """The verdict on a run's numbers (a stored run's dict, see `run_benchmark`)."""
    rps, achieved = run["rps"], run["achieved_rps"]
    p95 = run["latency_ms"].get("p95")
    checks = [
        Check(
            "p95 latency",
            "fail" if p95 is None or p95 >= P95_BASELINE_MS else "ok",
            f"p95 {p95} ms (p50 {run['latency_ms'].get('p50')}, p99 "
            f"{run['latency_ms'].get('p99')}, max {run['latency_ms'].get('max')})"
            if p95 is not None
            else "no request was answered",
            p95,
            f"< {P95_BASELINE_MS:.0f} ms",
        )
    ]
    rate = run["error_rate"]
    hint = " (429: the rate limits refused requests)" if "http-429" in run["errors"] else ""
    checks.append(
        Check(
            "error rate",
            "ok" if rate < ERROR_RATE_BASELINE else "fail",
            f"{100 * rate:.3f} % of {run['requests']['scheduled']} requests "
            f"({_errors_by_status(run['errors'])}){hint}",
            rate,
            f"< {100 * ERROR_RATE_BASELINE:.1f} %",
        )
    )
    floor = (1 - THROUGHPUT_TOLERANCE) * rps
    checks.append(
        Check(
            "throughput",
            "ok" if achieved >= floor else "fail",
            f"{achieved:g}/s answered of {rps:g}/s requested",
            achieved,
            f">= {floor:g}/s ({rps:g}/s within {100 * THROUGHPUT_TOLERANCE:.0f} %)",
        )
    )
    if rps >= CAPACITY_RPS:
        ok = achieved >= (1 - THROUGHPUT_TOLERANCE) * CAPACITY_RPS
        checks.append(
            Check("capacity", "ok" if ok else "fail", f"{achieved:g}/s", achieved, "> 1000 RPS")
        )
    else:
        checks.append(
            Check(
                "capacity",
                "info",
                f"not tested at {rps:g}/s (run with --rps 1000 or more to judge it)",
                None,
                "> 1000 RPS",
            )
        )
    generation = run.get("generation")
    if generation:
        checks.append(_generation_check(generation))
    return checks


def _generation_check(generation: dict[str, Any]) -> Check:
    size = generation["size_class"]
    baseline = GENERATION_BASELINE_S[size]
    seconds = generation.get("seconds")
    if generation.get("error"):
        return Check(f"generation ({size})", "fail", generation["error"], seconds, "")
    ok = seconds is not None and seconds < baseline
    detail = (
        f"{seconds:.1f} s end to end ({generation['input_bytes']:,} B in, "
        f"{generation['rows']:,} rows out)"
    )
    return Check(
        f"generation ({size})", "ok" if ok else "fail", detail, seconds, f"< {baseline:g} s"
    )


def run_benchmark(
    plan: BenchmarkPlan,
    *,
    progress: ProgressCallback | None = None,
    generation: Callable[[], GenerationResult] | None = None,
) -> dict[str, Any]:
    """Run the load (and, if given, the generation job after it); the run as stored."""
    started = datetime.now(UTC)
    result = run_load_sync(
        plan.url.rstrip("/") + plan.endpoint,
        rate=plan.rps,
        duration=plan.duration_s,
        headers=plan.headers,
        connections=plan.connections,
        warmup=plan.warmup_s,
        drain=plan.drain_s,
        progress=progress,
    )
    scheduled = result.scheduled
    failed = scheduled - result.ok
    run: dict[str, Any] = {
        "started_at": started.isoformat(),
        "finished_at": None,
        "host": socket.gethostname(),
        "version": __version__,
        "url": plan.url,
        "endpoint": plan.endpoint,
        "method": "GET",
        "rps": plan.rps,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "connections": plan.connections,
        "requests": {
            "scheduled": scheduled,
            "completed": result.completed,
            "ok": result.ok,
            "failed": failed,
        },
        "errors": result.errors,
        "error_rate": round(failed / scheduled, 6) if scheduled else 1.0,
        "achieved_rps": result.achieved_rate,
        "latency_ms": result.latency_ms,
        "service_ms": result.service_ms,
        "histogram_ms": latency_histogram(result.latencies),
        "max_backlog": result.max_backlog,
        "client_cpu_percent": result.client_cpu_percent,
        "generation": generation().to_dict() if generation is not None else None,
    }
    run["finished_at"] = datetime.now(UTC).isoformat()
    checks = judge(run)
    run["verdict"] = {
        "passed": all(c.status != "fail" for c in checks),
        "checks": [c.__dict__ for c in checks],
    }
    return run
