"""`cleanup-metrics` counts old data on a real TSDB whose series collide once the
metric name is dropped (every scraped target has `up` and `scrape_duration_seconds`
with the same labels), and has nothing to do when nothing is old enough.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.processes import prometheus_binary
from tests.ops import live_stack
from tests.ops.live_stack import LiveStack, findings, run_script

stack = live_stack.stack
DAY = 86400
CONFIG = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"}}


def _colliding_old_blocks(data: Path, now: float) -> None:
    """Two metrics with the same labels, 60 one-minute samples each, 100 days ago."""
    names = ("synthdata_cleanup_up", "synthdata_cleanup_duration_seconds")
    lines = [f"# TYPE {name} gauge" for name in names]
    start = int(now) - 100 * DAY
    for minute in range(60):
        for name in names:
            lines.append(f'{name}{{job="api",instance="a:1"}} {minute} {start + minute * 60}')
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


@pytest.mark.slow
def test_old_data_is_counted_when_series_differ_only_by_name(
    stack: LiveStack, tmp_path: Path
) -> None:
    data = tmp_path / "tsdb"
    _colliding_old_blocks(data, time.time())
    prometheus = stack.prometheus(CONFIG, "--storage.tsdb.retention.time=365d", data=data)
    env = stack.service_env(SYNTHDATA_PROMETHEUS_URL=prometheus.url)

    dry = run_script(
        "cleanup-metrics.sh", "--older-than", "90d", "--dry-run", "--json", env=env, cwd=tmp_path
    )
    found = findings(dry.stdout)
    assert "could not be counted" not in found["old data"]["detail"], found["old data"]
    assert found["old data"]["data"]["series"] == 2
    assert found["old data"]["data"]["samples"] == 120

    # Old data and a closed admin API: the real run cannot delete it, and says how to fix it.
    done = run_script("cleanup-metrics.sh", "--older-than", "90d", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--web.enable-admin-api" in findings(done.stdout)["admin API"]["detail"]


@pytest.mark.slow
def test_nothing_to_delete_exits_0_even_with_the_admin_api_off(
    stack: LiveStack, tmp_path: Path
) -> None:
    prometheus = stack.prometheus(CONFIG, "--storage.tsdb.retention.time=30d")
    env = stack.service_env(SYNTHDATA_PROMETHEUS_URL=prometheus.url)

    done = run_script("cleanup-metrics.sh", "--older-than", "90d", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    found = findings(done.stdout)
    assert found["old data"]["data"]["samples"] == 0
    assert found["deleted"]["status"] == "ok"
    assert "nothing to delete" in found["deleted"]["detail"]
    assert "admin API" not in found
