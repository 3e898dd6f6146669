"""`performance-benchmark` against the real `synthdata serve`, and the report and the
comparison with a real Prometheus scraping it.

One service (fault switch on, rate limits raised so that runs in the same minute never
meet them) and one Prometheus per module; each test keeps its stored runs in a data
directory of its own.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.performance import (
    REPO,
    check_outputs,
    closed_port_url,
    env_for,
    findings,
    ops,
    run,
)
from tests.fixtures.performance_deployment import (
    RATE,
    SECONDS,
    Deployment,
    benchmark,
    deployment,
    stored,
)

__all__ = ["deployment"]  # the module-scoped fixture of tests/fixtures/performance_deployment.py


def assert_consistent_verdict(run: dict[str, Any], returncode: int) -> None:
    """Each check's status follows from the stored numbers, and the exit code from them."""
    checks = {c["name"]: c for c in run["verdict"]["checks"]}
    p95 = run["latency_ms"]["p95"]
    assert checks["p95 latency"]["status"] == ("ok" if p95 < 500 else "fail")
    assert checks["p95 latency"]["measured"] == p95
    assert checks["error rate"]["status"] == ("ok" if run["error_rate"] < 0.001 else "fail")
    ok_rate = run["achieved_rps"] >= 0.95 * run["rps"]
    assert checks["throughput"]["status"] == ("ok" if ok_rate else "fail")
    assert checks["capacity"]["status"] == "info"  # < 1000/s: not judged
    failed = any(c["status"] == "fail" for c in checks.values())
    assert run["verdict"]["passed"] is not failed
    assert returncode == (1 if failed else 0)


def test_benchmark_stores_a_run_with_every_scheduled_request(
    deployment: Deployment, tmp_path: Path
) -> None:
    done = benchmark(deployment, tmp_path)
    runs = stored(tmp_path)
    assert len(runs) == 1, done.stdout + done.stderr
    run = runs[0]
    assert run["requests"] == {
        "scheduled": RATE * SECONDS,
        "completed": RATE * SECONDS,
        "ok": RATE * SECONDS,
        "failed": 0,
    }
    assert run["errors"] == {} and run["error_rate"] == 0.0
    lat = run["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert sum(run["histogram_ms"]["counts"]) == RATE * SECONDS
    assert (run["url"], run["endpoint"], run["rps"]) == (deployment.url, "/api/v1/usage", RATE)
    assert run["duration_s"] == SECONDS and run["host"] and run["version"]
    assert_consistent_verdict(run, done.returncode)
    report = json.loads(done.stdout)
    assert report["run"]["requests"] == run["requests"]
    assert Path(report["file"]).parent == tmp_path / "performance"


def test_a_failing_endpoint_fails_the_verdict_with_its_error_rate(
    deployment: Deployment, tmp_path: Path
) -> None:
    done = benchmark(deployment, tmp_path, "--header", "X-Synthdata-Fault: 500")
    assert done.returncode == 1, done.stdout + done.stderr
    (run,) = stored(tmp_path)
    assert run["errors"] == {"http-500": RATE * SECONDS}
    assert run["error_rate"] == 1.0 and run["achieved_rps"] == 0
    found = findings(done)
    assert found["error rate"]["status"] == "fail"
    assert f"100.000 % of {RATE * SECONDS}" in found["error rate"]["detail"]
    assert f"http-500 x{RATE * SECONDS}" in found["error rate"]["detail"]
    assert found["throughput"]["status"] == "fail"


def test_generation_job_is_timed_against_the_small_dataset_baseline(
    deployment: Deployment, tmp_path: Path
) -> None:
    done = benchmark(deployment, tmp_path, "--generation")
    (run,) = stored(tmp_path)
    generation = run["generation"]
    assert generation["error"] is None, generation
    assert generation["size_class"] == "small" and generation["input_bytes"] < 1_000_000
    assert generation["job_id"].startswith("job_") and generation["seconds"] > 0
    job = httpx.get(
        f"{deployment.url}/api/v1/jobs/{generation['job_id']}",
        headers={"X-API-Key": deployment.key},
    ).json()
    assert job["state"] == "succeeded"
    check = findings(done)["generation (small)"]
    assert check["status"] == ("ok" if generation["seconds"] < 30 else "fail")
    assert_consistent_verdict(run, done.returncode)


def test_runs_that_could_not_measure_anything_store_nothing(
    deployment: Deployment, tmp_path: Path
) -> None:
    env = env_for(tmp_path)
    no_key = ops(env, "performance-benchmark", "--duration", "1s", "--rps", "5",
                 "--url", deployment.url, "--json")  # fmt: skip
    assert no_key.returncode == 1
    assert findings(no_key)["service"]["status"] == "fail"
    assert "API key is missing or refused" in findings(no_key)["service"]["detail"]
    down = ops(env, "performance-benchmark", "--duration", "1s", "--url", closed_port_url(),
               "--json")  # fmt: skip
    assert down.returncode == 3
    assert findings(down)["service"]["status"] == "unreachable"
    assert "is the service running" in findings(down)["service"]["detail"]
    bad = ops(env, "performance-benchmark", "--duration", "10", "--url", deployment.url)
    assert bad.returncode == 2
    assert "30s, 10m" in bad.stderr
    assert stored(tmp_path) == []


def test_benchmark_wrapper_with_the_runbook_flags(deployment: Deployment, tmp_path: Path) -> None:
    env = env_for(tmp_path)
    env.update(SYNTHDATA_API_URL=deployment.url, SYNTHDATA_API_KEY=deployment.key)
    script = str(REPO / "scripts" / "performance-benchmark.sh")
    done = run([script, "--duration", "3s", "--rps", "100"], env)
    (stored_run,) = stored(tmp_path)
    assert stored_run["requests"]["scheduled"] == 300, done.stdout + done.stderr
    assert stored_run["requests"]["failed"] == 0
    assert_consistent_verdict(stored_run, done.returncode)


def _prometheus_value(url: str, expr: str) -> float:
    body = httpx.get(f"{url}/api/v1/query", params={"query": expr}).json()
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def wait_scraped(deployment: Deployment, after: datetime) -> None:
    """Wait until Prometheus has scraped the service after `after`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _prometheus_value(deployment.prometheus, "max(timestamp(up))") > after.timestamp():
            return
        time.sleep(0.5)
    pytest.fail("Prometheus did not scrape the service")


def test_report_combines_stored_runs_and_prometheus(deployment: Deployment, tmp_path: Path) -> None:
    first = benchmark(deployment, tmp_path)
    second = benchmark(deployment, tmp_path, "--generation")
    runs = stored(tmp_path)
    assert len(runs) == 2, first.stdout + second.stdout
    wait_scraped(deployment, datetime.now(UTC) + timedelta(seconds=1))
    env = env_for(tmp_path, deployment.prometheus)
    for fmt in ("pdf", "html", "md"):
        output = tmp_path / "reports" / f"week.{fmt}"
        done = ops(env, "performance-report", "--period", "7d", "--format", fmt,
                   "--output", str(output), "--json")  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        found = findings(done)
        assert found["prometheus"]["status"] == "ok"
        assert found["prometheus"]["data"]["reachable"] is True
        # The service served requests, so latency, rate and error ratio have series (a
        # ratio of 0 when nothing failed, not none); generation has one once a job ran.
        assert found["prometheus"]["data"]["empty"] == []
        assert found["stored runs"]["data"]["runs"] == 2
        check_outputs(fmt, [Path(p) for p in json.loads(done.stdout)["files"]], runs)
        if fmt == "md":
            assert "API latency p95 [seconds, expression]" in output.read_text()


def test_compare_uses_prometheus_over_each_window(deployment: Deployment, tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    healthy = benchmark(deployment, tmp_path / "runs", prometheus=True)
    time.sleep(2)
    middle = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    wait_scraped(deployment, middle)
    failing = benchmark(deployment, tmp_path / "runs", "--header", "X-Synthdata-Fault: 500")
    assert failing.returncode == 1, healthy.stdout + failing.stdout
    time.sleep(2)
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    wait_scraped(deployment, end)
    baseline, current = f"{start.isoformat()}..{middle.isoformat()}", f"{middle.isoformat()}.."
    current += end.isoformat()

    # No stored run in this data directory: Prometheus alone decides.
    env = env_for(tmp_path / "empty", deployment.prometheus)
    worse = ops(env, "compare-performance", "--baseline", baseline, "--current", current, "--json")
    assert worse.returncode == 1, worse.stdout + worse.stderr
    found = findings(worse)
    assert found["prometheus error rate"]["status"] == "warn"
    assert found["prometheus error rate"]["data"]["baseline"] == 0.0
    assert found["prometheus error rate"]["data"]["current"] > 0.5
    assert "stored runs p95" not in found

    same = ops(env, "compare-performance", "--baseline", baseline, "--current", baseline, "--json")
    assert same.returncode == 0, same.stdout
    assert findings(same)["prometheus error rate"]["status"] == "ok"
    assert findings(same)["prometheus p95"]["status"] == "ok"

    # With the stored runs too, both sources see the failing window.
    env = env_for(tmp_path / "runs", deployment.prometheus)
    both = ops(env, "compare-performance", "--baseline", baseline, "--current", current, "--json")
    assert both.returncode == 1
    assert findings(both)["stored runs error rate"]["status"] == "warn"
