"""Every `./scripts/NAME.sh` the operator's runbook names exists and runs its command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "runbook.md"
SCRIPTS = sorted(set(re.findall(r"\./scripts/([a-z-]+\.sh)", RUNBOOK.read_text())))


def test_the_runbook_names_the_whole_toolkit() -> None:
    # The seed runbook's ~20 scripts, plus the scale and restart helpers.
    assert len(SCRIPTS) >= 22, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_exists_and_answers_help(script: str) -> None:
    path = REPO / "scripts" / script
    assert path.is_file(), f"docs/runbook.md names {script}, which does not exist"
    assert os.access(path, os.X_OK), f"{script} is not executable"
    env = dict(os.environ, SYNTHDATA_BIN=str(Path(sys.executable).parent / "synthdata"))
    shown = subprocess.run(
        [str(path), "--help"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert "Usage:" in shown.stdout
