"""One name for Grafana's URL: `SYNTHDATA_GRAFANA_URL`, in the dashboard commands and the
ops toolkit alike. The older `GRAFANA_URL` (documented for the dashboard scripts) is
still read, with a deprecation line on stderr.
"""

from __future__ import annotations

import re

import pytest

from synthdata.cli.monitoring import app
from synthdata.service.core.settings import Settings
from tests.fixtures.grafana import GRAFANA, FakeGrafana, runner
from tests.fixtures.monitoring import REPO

OLD_NAME = re.compile(r"(?<!SYNTHDATA_)\bGRAFANA_URL\b")
# Where the old name must still appear: the code that reads it as a fallback.
FALLBACK_READERS = {
    "src/synthdata/service/core/settings.py",
    "src/synthdata/ops/dashboards.py",
    "src/synthdata/cli/monitoring.py",
}


def _import(env: dict[str, str]) -> tuple[int, str]:
    board = GRAFANA / "dashboards" / "synthdata-system-overview.json"
    result = runner.invoke(app, ["import-dashboard", "--file", str(board)], env=env)
    return result.exit_code, result.output


def test_synthdata_grafana_url_reaches_grafana(grafana: FakeGrafana) -> None:
    code, output = _import(
        {"SYNTHDATA_GRAFANA_URL": grafana.url, "GRAFANA_URL": "", "GRAFANA_TOKEN": grafana.token}
    )
    assert code == 0, output
    assert len(grafana.requests) == 1
    assert "deprecated" not in output


def test_grafana_url_is_still_read_with_a_deprecation_line(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _import(
        {"SYNTHDATA_GRAFANA_URL": "", "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": grafana.token}
    )
    assert code == 0, output
    assert len(grafana.requests) == 1
    assert "GRAFANA_URL is deprecated: set SYNTHDATA_GRAFANA_URL instead" in output
    # The ops toolkit (health-check, backup-monitoring-config) reads it through Settings.
    monkeypatch.delenv("SYNTHDATA_GRAFANA_URL", raising=False)
    monkeypatch.setenv("GRAFANA_URL", grafana.url)
    assert Settings().grafana_url == grafana.url
    monkeypatch.setenv("SYNTHDATA_GRAFANA_URL", "http://grafana.new:3000")
    assert Settings().grafana_url == "http://grafana.new:3000"  # the new name wins


def test_code_scripts_and_docs_use_one_name() -> None:
    stray = []
    for folder, pattern in (("src", "*.py"), ("scripts", "*.sh"), ("docs", "*.md")):
        for path in sorted((REPO / folder).rglob(pattern)):
            name = str(path.relative_to(REPO))
            for number, line in enumerate(path.read_text().splitlines(), 1):
                allowed = name in FALLBACK_READERS or "deprecated" in line
                if OLD_NAME.search(line) and not allowed:
                    stray.append(f"{name}:{number}: {line.strip()}")
    assert stray == []
