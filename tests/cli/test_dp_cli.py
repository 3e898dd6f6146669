"""`--epsilon` / `--delta` on the command line: the dp synthesizer, its budget in the
model file, and a clean error for a synthesizer that cannot be private."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from synthdata.cli.main import app

runner = CliRunner()


def _table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = 600
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


def test_fit_with_epsilon_saves_a_dp_model_with_its_budget(tmp_path: Path) -> None:
    model = tmp_path / "m.synth"
    result = runner.invoke(
        app,
        ["fit", str(_table(tmp_path)), "-o", str(model), "--epsilon", "2", "--delta", "1e-7"],
    )
    assert result.exit_code == 0, result.output
    assert "differential privacy: epsilon 2 " in result.output
    with zipfile.ZipFile(model) as archive:
        header = json.loads(archive.read("model.json"))
    assert header["synthesizer"] == "dp"
    assert header["options"]["epsilon"] == 2.0 and header["options"]["delta"] == 1e-7
    privacy = header["params"]["privacy"]
    assert privacy["epsilon_spent"] <= 2.0 and privacy["delta_spent"] <= 1e-7
    out = tmp_path / "rows.csv"
    result = runner.invoke(app, ["sample", str(model), "-n", "50", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out).columns) == ["age", "income", "city"]


def test_generate_with_epsilon_and_another_synthesizer_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "generate",
            str(_table(tmp_path)),
            "-o",
            str(tmp_path / "o.csv"),
            "-s",
            "copula",
            "--epsilon",
            "1",
        ],
    )
    assert result.exit_code == 2
    assert "need the dp synthesizer" in result.stderr
    assert not (tmp_path / "o.csv").exists()
