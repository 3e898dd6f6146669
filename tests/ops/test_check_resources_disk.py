"""`check-resources` and `health-check` report the data directory's disk as the very
number HighDiskUsage sees: the rule's own expression, evaluated by a real Prometheus
over a real node_exporter, for the mount point holding the data directory.

On a disk with blocks reserved for root the two used to disagree widely (34 % against
73 %): psutil leaves the reserved blocks out, the rule counts them as used.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.fixtures.ops import base_test_env, ops, wait_until
from tests.fixtures.processes import (  # noqa: F401  (the fixtures)
    Proc,
    Prometheus,
    node_exporter,
    processes,
    prometheus_factory,
)

pytestmark = pytest.mark.slow

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"
# Other users write to the same disk while the test runs: allow 0.2 percentage points.
TOLERANCE = 0.002


def _high_disk_usage_ratio() -> str:
    """HighDiskUsage's expression without its `> threshold`."""
    for group in yaml.safe_load((RULES / "resources.yml").read_text())["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "HighDiskUsage":
                expr, _, threshold = rule["expr"].rpartition(">")
                assert float(threshold) == 0.85
                return str(expr)
    raise AssertionError("HighDiskUsage is not in resources.yml")


def _mountpoint(path: Path) -> str:
    """The mount point of `path` as df names it (independent of the code under test)."""
    done = subprocess.run(
        ["df", "--output=target", str(path)], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()[-1].strip()


@pytest.mark.timeout(180)
def test_disk_figures_equal_the_high_disk_usage_expression(
    tmp_path: Path,
    processes: Callable[..., Proc],  # noqa: F811
    prometheus_factory: Callable[..., Prometheus],  # noqa: F811
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = base_test_env(tmp_path, SYNTHDATA_DATA_DIR=str(data_dir))
    mountpoint = _mountpoint(data_dir)
    node = node_exporter(processes)
    prometheus = prometheus_factory({"node": [node.url.removeprefix("http://")]})
    ratio = _high_disk_usage_ratio()
    expr = f'({ratio}) and on (mountpoint) node_filesystem_size_bytes{{mountpoint="{mountpoint}"}}'
    wait_until(lambda: bool(prometheus.query(expr)), what="node_filesystem series scraped")

    resources = ops(env, "check-resources", "--json").finding("disk (data_dir)")
    health = ops(env, "health-check", "--json").finding("storage")
    (series,) = prometheus.query(expr)
    alert_sees = float(series["value"][1])

    assert abs(resources["data"]["used_ratio"] - alert_sees) < TOLERANCE, (resources, series)
    assert abs(health["data"]["used_ratio"] - alert_sees) < TOLERANCE, (health, series)
    assert resources["data"]["mountpoint"] == mountpoint
