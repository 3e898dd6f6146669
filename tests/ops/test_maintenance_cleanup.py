"""`./scripts/cleanup-metrics.sh --older-than 90d` against a real Prometheus holding old data.

The old data is real TSDB blocks: `promtool tsdb create-blocks-from openmetrics`
writes samples from 100 days ago and from 10 days ago into the data directory
Prometheus then starts on (retention 365 d, so it keeps both).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.processes import prometheus_binary
from tests.ops import live_stack
from tests.ops.live_stack import LiveStack, findings, no_traceback, run_script

stack = live_stack.stack
DAY = 86400
CONFIG = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"}}


def _old_blocks(data: Path, now: float) -> None:
    """60 one-minute samples 100 days ago and 60 ten days ago, in two series each."""
    lines = ["# TYPE synthdata_cleanup_test gauge", "# TYPE synthdata_cleanup_mixed gauge"]
    for age, label in ((100, "old"), (10, "recent")):
        start = int(now) - age * DAY
        for minute in range(60):
            at = start + minute * 60
            lines.append(f'synthdata_cleanup_test{{age="{label}"}} {minute} {at}')
            lines.append(f"synthdata_cleanup_mixed {minute} {at}")
    source = data.parent / "old.om"
    source.write_text("\n".join(lines) + "\n# EOF\n")
    done = subprocess.run(
        [
            prometheus_binary("promtool"),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(source),
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _samples(url: str, metric: str, days_ago: int, now: float) -> int:
    """Samples of `metric` in the two hours around the hour written `days_ago` days ago."""
    at = int(now) - days_ago * DAY + 3570  # just after its last sample
    reply = httpx.get(
        f"{url}/api/v1/query",
        params={"query": f"sum(count_over_time({metric}[2h]))", "time": at},
        timeout=10,
    ).json()
    assert reply["status"] == "success", reply
    return sum(int(row["value"][1]) for row in reply["data"]["result"])


@pytest.mark.slow
def test_cleanup_deletes_old_samples_and_keeps_recent_ones(
    stack: LiveStack, tmp_path: Path
) -> None:
    now = time.time()
    data = tmp_path / "tsdb"
    _old_blocks(data, now)
    prometheus = stack.prometheus(
        CONFIG, "--web.enable-admin-api", "--storage.tsdb.retention.time=365d", data=data
    )
    env = stack.service_env(SYNTHDATA_PROMETHEUS_URL=prometheus.url)
    for metric in ("synthdata_cleanup_test", "synthdata_cleanup_mixed"):
        assert _samples(prometheus.url, metric, 100, now) == 60
        assert _samples(prometheus.url, metric, 10, now) == 60

    dry = run_script(
        "cleanup-metrics.sh", "--older-than", "90d", "--dry-run", "--json", env=env, cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    found = findings(dry.stdout)
    assert found["old data"]["data"]["samples"] == 120
    assert found["old data"]["data"]["series"] == 2
    assert found["admin API"]["status"] == "ok"
    assert found["retention"]["data"] == {"retention": "365d", "moot": False}
    assert _samples(prometheus.url, "synthdata_cleanup_test", 100, now) == 60  # dry: kept

    done = run_script("cleanup-metrics.sh", "--older-than", "90d", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deleted" in done.stdout
    for metric in ("synthdata_cleanup_test", "synthdata_cleanup_mixed"):
        assert _samples(prometheus.url, metric, 100, now) == 0
        assert _samples(prometheus.url, metric, 10, now) == 60

    again = run_script("cleanup-metrics.sh", "--older-than", "90d", "--json", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    found = findings(again.stdout)
    assert found["old data"]["data"]["samples"] == 0
    assert found["deleted"]["status"] == "ok"


@pytest.mark.slow
def test_a_moot_cleanup_with_a_closed_admin_api_has_nothing_to_do(
    stack: LiveStack, tmp_path: Path
) -> None:
    # A closed admin API with old data to delete fails with the fix:
    # test_maintenance_cleanup_counts.py.
    prometheus = stack.prometheus(CONFIG, "--storage.tsdb.retention.time=30d")
    env = stack.service_env(SYNTHDATA_PROMETHEUS_URL=prometheus.url)

    done = run_script("cleanup-metrics.sh", "--older-than", "90d", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    found = findings(done.stdout)
    assert found["retention"]["data"] == {"retention": "30d", "moot": True}
    assert "cleanup is moot" in found["retention"]["detail"]
    assert "nothing to delete" in found["deleted"]["detail"]

    dry = run_script(
        "cleanup-metrics.sh", "--older-than", "90d", "--dry-run", "--json", env=env, cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stdout
    assert "nothing to delete" in findings(dry.stdout)["deleted"]["detail"]


def test_an_unreachable_prometheus_exits_3(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9")
    done = run_script("cleanup-metrics.sh", "--older-than", "90d", env=env, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    no_traceback(done)
    assert "unreachable" in done.stdout and "127.0.0.1:9" in done.stdout
