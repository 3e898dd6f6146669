"""`--condition` on `generate` and `sample`: every written row meets it; bad ones exit 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthdata.cli.conditions import parse_conditions
from synthdata.cli.main import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customers.csv"


def test_generate_writes_only_rows_that_meet_the_conditions(tmp_path: Path) -> None:
    out = tmp_path / "premium.csv"
    result = runner.invoke(
        app,
        [
            "generate", str(EXAMPLE), "--rows", "500", "--output", str(out), "--seed", "3",
            "--condition", "segment=premium|vip", "--condition", "age=30..40", "-q",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert len(rows) == 500
    assert set(rows["segment"]) <= {"premium", "vip"}
    assert rows["age"].between(30, 40).all()


def test_sample_from_a_saved_model_with_an_open_range(tmp_path: Path) -> None:
    model = tmp_path / "customers.synth"
    fitted = runner.invoke(app, ["fit", str(EXAMPLE), "--output", str(model), "-q"])
    assert fitted.exit_code == 0, fitted.output
    out = tmp_path / "rich.parquet"
    result = runner.invoke(
        app,
        ["sample", str(model), "-n", "300", "-o", str(out), "-c", "income=80000..", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert (pd.read_parquet(out)["income"] >= 80000).all()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("segment=platinum", "'platinum' never occurs in column 'segment'"),
        ("nosuch=1", "unknown column 'nosuch'"),
        ("age=200..300", "no value of the real table meets it"),
        ("age", "--condition expects COLUMN=VALUE"),
    ],
)
def test_impossible_conditions_exit_2_with_one_line(
    tmp_path: Path, option: str, message: str
) -> None:
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["generate", str(EXAMPLE), "-n", "10", "-o", str(out), "-c", option, "-q"]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_a_synthesizer_without_conditions_fails_before_fitting(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["generate", str(EXAMPLE), "-n", "10", "-o", str(tmp_path / "o.csv"),
         "-s", "copula", "-c", "segment=vip"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "the copula synthesizer cannot sample with conditions" in result.output


def test_parsing() -> None:
    assert parse_conditions(["a=1", "b=x|y", "c=1..", "d=..5", "e=", "f=2..3"]) == {
        "a": "1",
        "b": ["x", "y"],
        "c": ("1", None),
        "d": (None, "5"),
        "e": None,
        "f": ("2", "3"),
    }
