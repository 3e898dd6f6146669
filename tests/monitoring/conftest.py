"""Fixtures for the monitoring configuration: the real promtool, amtool and Alertmanager.

The binaries come from the Debian packages `prometheus` and
`prometheus-alertmanager`. If they are missing the session installs them; if that
fails the tests fail, because configuration that was never checked by the real
tools must not pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
PROMETHEUS_DIR = MONITORING / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
ALERTMANAGER_DIR = MONITORING / "alertmanager"
ALERTS_DOC = REPO / "docs" / "runbook.md"

PACKAGES = ("prometheus", "prometheus-alertmanager")
BINARIES = {"promtool": "promtool", "amtool": "amtool", "alertmanager": "prometheus-alertmanager"}


@dataclass(frozen=True)
class Tools:
    """Paths of the monitoring binaries the tests run."""

    promtool: str
    amtool: str
    alertmanager: str

    @staticmethod
    def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a tool and capture its output (a non-zero exit is returned, not raised)."""
        return subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )


def _which_all() -> dict[str, str | None]:
    return {key: shutil.which(name) for key, name in BINARIES.items()}


@pytest.fixture(scope="session")
def tools() -> Tools:
    """promtool, amtool and alertmanager, installed with apt-get if needed."""
    found = _which_all()
    if None in found.values():
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        result = subprocess.run(
            ["apt-get", "install", "-y", *PACKAGES],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        found = _which_all()
        missing = [BINARIES[key] for key, path in found.items() if path is None]
        if missing:
            pytest.fail(
                f"{', '.join(missing)} not found and `apt-get install -y {' '.join(PACKAGES)}` "
                f"did not provide them (exit {result.returncode}):\n{result.stderr[-2000:]}",
                pytrace=False,
            )
    return Tools(
        promtool=str(found["promtool"]),
        amtool=str(found["amtool"]),
        alertmanager=str(found["alertmanager"]),
    )
