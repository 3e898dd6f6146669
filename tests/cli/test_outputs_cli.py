"""What the engine commands leave on disk: file modes, interrupted runs, missing folders."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import synthdata
from synthdata.cli.main import app
from synthdata.cli.termination import TERMINATED_EXIT

runner = CliRunner()


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = 300
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "income": rng.lognormal(10, 0.5, rows).round(2),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
        }
    )
    path = tmp_path / "real.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def model(table: Path, tmp_path: Path) -> Path:
    path = tmp_path / "real.synth"
    synthdata.fit(table, synthesizer="copula").save(path)
    return path


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def umask() -> Iterator[None]:
    """Run with umask 022, the usual default, and put the test's own back."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.usefixtures("umask")
def test_outputs_follow_the_umask(table: Path, model: Path, out_dir: Path) -> None:
    outputs = {
        "generate": out_dir / "generated.csv",
        "sample": out_dir / "sampled.parquet",
        "fit": out_dir / "refit.synth",
        "report": out_dir / "report.html",
    }
    commands = [
        ["generate", table, "-n", "20", "-o", outputs["generate"], "-s", "copula"],
        ["sample", model, "-n", "20", "-o", outputs["sample"]],
        ["fit", table, "-o", outputs["fit"], "-s", "copula"],
        ["evaluate", table, outputs["generate"], "--json", "--report", outputs["report"]],
    ]
    for command in commands:
        result = runner.invoke(app, [str(arg) for arg in command])
        assert result.exit_code == 0, result.output
    for name, path in outputs.items():
        assert _mode(path) == 0o644, f"{name}: {oct(_mode(path))}"

    os.umask(0o077)  # a private umask is honoured too
    private = out_dir / "private.csv"
    result = runner.invoke(app, ["sample", str(model), "-n", "5", "-o", str(private)])
    assert result.exit_code == 0, result.output
    assert _mode(private) == 0o600


@pytest.mark.parametrize("option", ["--output", "--report"])
def test_missing_output_directory_is_refused(
    table: Path, model: Path, tmp_path: Path, option: str
) -> None:
    missing = tmp_path / "absent" / "deeper"
    if option == "--output":
        args = ["sample", model, "-n", "5", "--output", missing / "o.csv"]
    else:
        args = ["evaluate", table, table, "--report", missing / "r.html"]
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: output directory does not exist: {missing} (create it first)"
    ]
    assert not (tmp_path / "absent").exists()


def test_fit_refuses_a_missing_directory_before_fitting(table: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    result = runner.invoke(app, ["fit", str(table), "-o", str(tmp_path / "no" / "m.synth")])
    assert result.exit_code == 2, result.output
    assert "output directory does not exist" in result.stderr
    assert time.monotonic() - started < 5
    assert not (tmp_path / "no").exists()


def _script() -> list[str]:
    installed = Path(sys.executable).parent / "synthdata"
    if installed.is_file():
        return [str(installed)]
    found = shutil.which("synthdata")
    return [found] if found else [sys.executable, "-m", "synthdata"]


def test_sigterm_during_sample_leaves_no_partial_file(model: Path, out_dir: Path) -> None:
    output = out_dir / "big.csv"
    env = {k: v for k, v in os.environ.items() if k != "SYNTHDATA_DEBUG"}
    process = subprocess.Popen(
        [*_script(), "--quiet", "sample", str(model), "-n", "200000000", "-o", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        # Wait until the hidden partial file holds some rows, so the run is mid-write.
        while not any(p.stat().st_size > 0 for p in out_dir.glob(".big.csv.*.part")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no partial output appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == TERMINATED_EXIT, stderr
    assert "Traceback" not in stderr
    assert list(out_dir.iterdir()) == []
