"""The runbook's `./scripts/*.sh` lines work as written (for the scripts that exist)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_circuit_breaker_scripts_switch_the_shared_flag(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["SYNTHDATA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env["SYNTHDATA_DATA_DIR"] = str(tmp_path / "data")
    env["SYNTHDATA_BIN"] = str(Path(sys.executable).parent / "synthdata")
    status = [env["SYNTHDATA_BIN"], "ops", "circuit-breaker-status", "--service", "synthdata-api"]

    on = _run("enable-circuit-breaker.sh", "--service", "synthdata-api", env=env)
    assert on.returncode == 0, on.stderr
    shown = subprocess.run(status, env=env, capture_output=True, text=True, check=True)
    assert "on" in shown.stdout

    off = _run("disable-circuit-breaker.sh", "--service", "synthdata-api", env=env)
    assert off.returncode == 0, off.stderr
    shown = subprocess.run(status, env=env, capture_output=True, text=True, check=True)
    assert "off" in shown.stdout

    bad = _run("enable-circuit-breaker.sh", "--bogus", env=env)
    assert bad.returncode != 0
