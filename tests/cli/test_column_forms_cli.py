"""The engine commands keep written forms: --date-format, --type on text, tiny-table warnings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from synthdata.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDATA_DEBUG", raising=False)
    monkeypatch.delenv("SYNTHDATA_MAX_INPUT_BYTES", raising=False)


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def _dates(tmp_path: Path, rows: int = 120) -> Path:
    """Day-first dates whose first value also reads month-first (pandas guesses wrong)."""
    days = pd.date_range("2020-01-01", periods=rows, freq="3D").strftime("%d/%m/%Y").tolist()
    days[0] = "01/02/2020"
    path = tmp_path / "dates.csv"
    pd.DataFrame({"d": days, "n": range(rows)}).to_csv(path, index=False)
    return path


def test_forcing_datetime_on_day_first_text(tmp_path: Path) -> None:
    output = tmp_path / "fake.csv"
    result = invoke("generate", _dates(tmp_path), "-n", "50", "-o", output, "--type", "d=datetime")
    assert result.exit_code == 0, result.output
    fake = pd.read_csv(output, dtype=str)
    assert fake["d"].str.fullmatch(r"\d{2}/\d{2}/20(20|21)").all()


def test_date_format_option(tmp_path: Path) -> None:
    path = tmp_path / "dots.csv"
    pd.DataFrame({"d": ["2021.03.04", "2021.05.06", "2022.01.30"] * 40}).to_csv(path, index=False)
    model = tmp_path / "m.synth"
    result = invoke("fit", path, "-o", model, "--date-format", "d=%Y.%m.%d", "-s", "copula")
    assert result.exit_code == 0, result.output
    output = tmp_path / "fake.csv"
    assert invoke("sample", model, "-n", "30", "-o", output).exit_code == 0
    assert pd.read_csv(output, dtype=str)["d"].str.fullmatch(r"\d{4}\.\d{2}\.\d{2}").all()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("d", "COLUMN=FORMAT"), ("d=dd/mm/yyyy", "has no % field"), ("d=%m.%d.%Y", "'01/02/2020'")],
)
def test_bad_date_formats_are_one_line_errors(tmp_path: Path, value: str, fragment: str) -> None:
    output = tmp_path / "fake.csv"
    result = invoke("generate", _dates(tmp_path), "-n", "5", "-o", output, "--date-format", value)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert not output.exists()


def test_unreadable_dates_message_is_not_cut(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"d": ["31/12/2020", "2020-12-30", "Dec 5 2020"] * 30}).to_csv(path, index=False)
    args = ["-s", "copula", "--type", "d=datetime"]
    result = invoke("generate", path, "-n", "5", "-o", tmp_path / "f.csv", *args)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and not line.endswith(":")
    assert "--date-format" in line


def test_zip_codes_keep_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "zips.csv"
    zips = [str(z) for z in range(10_000, 16_000)] + ["01234", "00501"] * 200
    pd.DataFrame({"zip": zips}).to_csv(path, index=False)
    output = tmp_path / "fake.csv"
    result = invoke("generate", path, "-n", "3000", "-o", output, "--type", "zip=categorical")
    assert result.exit_code == 0, result.output
    fake = pd.read_csv(output, dtype=str)["zip"]
    assert fake.str.len().eq(5).all() and fake.str.startswith("0").any()


def test_a_tiny_table_warns_even_when_quiet(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("name,age\nAda Lovelace,36\n")
    output = tmp_path / "fake.csv"
    result = invoke("generate", path, "-n", "3", "-o", output, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: the table has only 1 row(s)")
    assert result.stdout == ""


def test_fit_refuses_an_unsaveable_synthesizer_before_fitting(tmp_path: Path) -> None:
    model = tmp_path / "m.synth"
    result = invoke("fit", _dates(tmp_path), "-o", model, "-s", "sdv_ctgan")
    assert result.exit_code == 2
    assert "cannot be saved" in result.stderr and not model.exists()
