"""`synthdata monitoring --help` names both halves of the group: dashboards and the stack."""

from __future__ import annotations

import os
import subprocess
import sys


def _help(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "synthdata", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_monitoring_help_names_the_stack_commands() -> None:
    text = _help("monitoring")
    lines = text.splitlines()
    usage = lines.index(next(line for line in lines if "Usage:" in line))
    summary = " ".join(lines[usage + 1 : usage + 4])  # the group's description
    for command in ("up", "status", "down", "build"):
        assert command in summary, summary
        assert any(line.strip("│ ").startswith(f"{command} ") for line in lines), command
    assert "dashboards" in summary
