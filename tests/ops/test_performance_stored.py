"""`performance-report` and `compare-performance` on stored runs with set timestamps
(Prometheus not reachable), through the installed command and the runbook wrappers."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from synthdata.ops.perf_store import latency_histogram, save_run
from synthdata.ops.performance import judge
from tests.fixtures.performance import (
    REPO,
    check_outputs,
    env_for,
    findings,
    ops,
    pdf_pages,
    run,
)


def seed_run(
    data_dir: Path,
    started: datetime,
    *,
    p95: float,
    failed: int = 0,
    scheduled: int = 600,
    generation_s: float | None = None,
) -> dict[str, Any]:
    """Store a run as `performance-benchmark` would, with chosen numbers and time."""
    latencies = [p95 / 2] * (scheduled - scheduled // 10) + [p95] * (scheduled // 10)
    run: dict[str, Any] = {
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(seconds=60)).isoformat(),
        "host": "seeded",
        "version": "0.1.0",
        "url": "http://127.0.0.1:8000",
        "endpoint": "/api/v1/usage",
        "method": "GET",
        "rps": 10.0,
        "duration_s": 60.0,
        "requests": {
            "scheduled": scheduled,
            "completed": scheduled,
            "ok": scheduled - failed,
            "failed": failed,
        },
        "errors": {"http-500": failed} if failed else {},
        "error_rate": failed / scheduled,
        "achieved_rps": round((scheduled - failed) / 60.0, 1),
        "latency_ms": {"p50": p95 / 2, "p95": p95, "p99": p95, "max": p95},
        "histogram_ms": latency_histogram(latencies),
        "generation": None
        if generation_s is None
        else {"size_class": "small", "input_bytes": 17_000, "rows": 1000, "seconds": generation_s},
    }
    checks = judge(run)
    run["verdict"] = {
        "passed": all(c.status != "fail" for c in checks),
        "checks": [c.__dict__ for c in checks],
    }
    save_run(run, data_dir / "performance")
    return run


@pytest.mark.parametrize("fmt", ["pdf", "html", "md"])
def test_report_renders_stored_runs_when_prometheus_is_unreachable(
    tmp_path: Path, fmt: str
) -> None:
    now = datetime.now(UTC)
    runs = [
        seed_run(tmp_path, now - timedelta(days=5), p95=12.5),
        seed_run(tmp_path, now - timedelta(days=2), p95=37.25, failed=3, generation_s=4.5),
        seed_run(tmp_path, now - timedelta(hours=1), p95=650.0),
    ]
    seed_run(tmp_path, now - timedelta(days=9), p95=777.0)  # before the period
    output = tmp_path / "out" / f"report.{fmt}"
    done = ops(
        env_for(tmp_path), "performance-report", "--period", "7d", "--format", fmt,
        "--output", str(output), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = findings(done)
    assert found["prometheus"]["status"] == "info"
    assert found["prometheus"]["data"]["reachable"] is False
    assert "unreachable" in found["prometheus"]["detail"]
    assert found["stored runs"]["data"]["runs"] == 3
    assert found["stored runs"]["data"]["passed"] == 1  # 3 errors in 600 and 650 ms fail
    files = [Path(p) for p in json.loads(done.stdout)["files"]]
    assert files[0] == output
    check_outputs(fmt, files, runs, absent=(777.0,))


def test_report_with_nothing_to_report_from_exits_3(tmp_path: Path) -> None:
    done = ops(env_for(tmp_path), "performance-report", "--period", "1d", "--format", "md")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "unreachable" in done.stdout


def test_report_wrapper_with_the_runbook_flags(tmp_path: Path) -> None:
    seed_run(tmp_path, datetime.now(UTC) - timedelta(days=1), p95=20.0)
    done = run([str(REPO / "scripts" / "performance-report.sh"), "--period", "7d", "--format",
                "pdf"], env_for(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    reports = list((tmp_path / "performance" / "reports").glob("performance-report-*.pdf"))
    assert len(reports) == 1
    assert reports[0].read_bytes().startswith(b"%PDF") and pdf_pages(reports[0]) == 5


def test_bad_report_options_are_usage_errors(tmp_path: Path) -> None:
    assert ops(env_for(tmp_path), "performance-report", "--period", "week").returncode == 2
    assert ops(env_for(tmp_path), "performance-report", "--format", "docx").returncode == 2


BASE_DAY, CURRENT_DAY = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 8, tzinfo=UTC)


def _compare(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return ops(
        env_for(tmp_path), "compare-performance", "--baseline", "2024-05-01",
        "--current", "2024-05-08", "--json", *extra,
    )  # fmt: skip


def _seed_days(tmp_path: Path, base: list[tuple[float, int]], cur: list[tuple[float, int]]) -> None:
    for day, runs in ((BASE_DAY, base), (CURRENT_DAY, cur)):
        for hour, (p95, failed) in enumerate(runs, start=9):
            seed_run(tmp_path, day + timedelta(hours=hour), p95=p95, failed=failed, scheduled=1000)


def test_compare_flags_a_p95_more_than_20_percent_worse(tmp_path: Path) -> None:
    _seed_days(tmp_path, [(100.0, 0), (110.0, 0), (90.0, 0)], [(125.0, 0), (130.0, 0)])
    done = _compare(tmp_path)
    assert done.returncode == 1, done.stdout
    found = findings(done)
    assert found["stored runs p95"]["status"] == "warn"
    assert found["stored runs p95"]["data"] == {
        "baseline": 100.0,  # the median of 90, 100, 110
        "current": 127.5,
        "regression": True,
    }
    assert found["stored runs error rate"]["status"] == "ok"
    assert found["baseline window"]["detail"].endswith("3 stored run(s)")


def test_compare_flags_an_error_rate_up_by_more_than_a_tenth_of_a_point(tmp_path: Path) -> None:
    # 0.05 % -> 0.2 %: +0.15 percentage point.
    _seed_days(tmp_path, [(100.0, 1), (100.0, 0)], [(100.0, 2), (100.0, 2)])
    done = _compare(tmp_path)
    assert done.returncode == 1, done.stdout
    found = findings(done)
    assert found["stored runs error rate"]["status"] == "warn"
    assert found["stored runs p95"]["status"] == "ok"


def test_compare_finds_no_regression_within_the_thresholds(tmp_path: Path) -> None:
    # p95 +19 %, error rate +0.05 point: both inside the thresholds.
    _seed_days(tmp_path, [(100.0, 0)], [(119.0, 1), (119.0, 0)])
    done = _compare(tmp_path)
    assert done.returncode == 0, done.stdout
    found = findings(done)
    assert found["stored runs p95"]["status"] == "ok"
    assert found["stored runs error rate"]["status"] == "ok"
    assert found["prometheus"]["status"] == "info"  # unreachable: not used


def test_compare_with_one_empty_window_says_not_enough_data(tmp_path: Path) -> None:
    _seed_days(tmp_path, [], [(900.0, 500)])  # a terrible current day, but no baseline
    done = _compare(tmp_path)
    assert done.returncode == 3, done.stdout
    found = findings(done)
    assert found["comparison"]["status"] == "unreachable"
    assert "not enough data" in found["comparison"]["detail"]
    assert "baseline" in found["comparison"]["detail"]
    assert "not a regression" in found["comparison"]["detail"]
    assert "stored runs p95" not in found


def test_compare_wrapper_with_the_runbook_flags(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    today = datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)
    monday = today - timedelta(days=now.weekday())
    in_last_week = monday - timedelta(days=4, hours=12)
    in_today = today + (now - today) / 2
    seed_run(tmp_path, in_last_week, p95=50.0)
    seed_run(tmp_path, in_today, p95=49.0)
    args = ["--baseline", "last-week", "--current", "today"]
    script = str(REPO / "scripts" / "compare-performance.sh")
    same = run([script, *args], env_for(tmp_path))
    assert same.returncode == 0, same.stdout + same.stderr
    seed_run(tmp_path, in_today + timedelta(seconds=1), p95=400.0)  # median 49 -> 224.5
    worse = run([script, *args, "--json"], env_for(tmp_path))
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert findings(worse)["stored runs p95"]["status"] == "warn"


def test_bad_periods_are_usage_errors(tmp_path: Path) -> None:
    done = ops(env_for(tmp_path), "compare-performance", "--baseline", "last-month")
    assert done.returncode == 2
    assert "last-week" in done.stderr  # the message lists the accepted forms
