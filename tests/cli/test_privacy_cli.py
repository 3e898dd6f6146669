"""`synthdata evaluate --privacy` and `--min-value-count` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from synthdata.cli.main import app
from tests.fixtures.privacy_tables import notes_table

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDATA_DEBUG", raising=False)
    monkeypatch.delenv("SYNTHDATA_MIN_VALUE_COUNT", raising=False)


@pytest.fixture
def notes(tmp_path: Path) -> tuple[Path, list[str]]:
    frame, rare = notes_table()
    path = tmp_path / "notes.csv"
    frame.to_csv(path, index=False)
    return path, rare


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def test_generate_never_writes_rare_notes(notes: tuple[Path, list[str]], tmp_path: Path) -> None:
    path, rare = notes
    out = tmp_path / "fake.csv"
    result = invoke("generate", path, "-o", out, "--rows", "5000", "--min-value-count", "5")
    assert result.exit_code == 0, result.output
    assert "rare values: notes: 40 value(s)" in result.output
    assert not pd.read_csv(out)["notes"].isin(rare).any()


def test_evaluate_privacy_holds_rows_out_before_fitting(
    notes: tuple[Path, list[str]], tmp_path: Path
) -> None:
    path, _ = notes
    result = invoke("evaluate", path, "--privacy", "--n-attacks", "60", "--json")
    assert result.exit_code == 0, result.output
    assert "held out 30% of the real rows (600, seed 0) before fitting" in result.output
    document = json.loads(result.stdout[result.stdout.index("{") :])
    privacy = document["privacy"]
    assert document["rows"] == {**document["rows"], "real": 1400, "holdout": 600}
    assert privacy["rare_values"]["notes"]["emitted_verbatim"] == 0
    attacks = privacy["attacks"]
    assert attacks["n_attacks"] == 60 and attacks["holdout_source"] == "given"
    for attack in attacks["anonymeter"].values():
        if "ci" in attack:
            assert attack["ci"][0] <= attack["risk"] <= attack["ci"][1]
    assert 0.0 <= attacks["membership_auc"] <= 1.0


def test_evaluate_privacy_without_holdout_says_it_cannot_be_baselined(
    notes: tuple[Path, list[str]],
) -> None:
    path, _ = notes
    result = invoke("evaluate", path, path, "--privacy", "--n-attacks", "40")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "the attacks cannot be baselined" in flat
    assert "Privacy attacks" in flat and "membership" in flat
    assert "Rare values" in flat


def test_evaluate_needs_synthetic_or_privacy(notes: tuple[Path, list[str]]) -> None:
    result = invoke("evaluate", notes[0])
    assert result.exit_code != 0
    assert "give SYNTHETIC, or --privacy" in result.output
