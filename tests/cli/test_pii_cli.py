"""The command line shows each column's PII treatment and takes the user's overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from synthdata.cli.console import console
from synthdata.cli.main import app
from tests.fixtures.pii import PII_COLUMNS, pii_table

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDATA_DEBUG", raising=False)
    monkeypatch.delenv("SYNTHDATA_MAX_INPUT_BYTES", raising=False)
    monkeypatch.delenv("SYNTHDATA_PII_SECRET", raising=False)


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=env)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    pii_table(rows=200).to_csv(path, index=False)
    return path


def test_inspect_lists_every_column_and_its_treatment(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke("inspect", table, "--json")
    assert result.exit_code == 0, result.output
    columns = {c["name"]: c for c in json.loads(result.stdout)["schema"]["columns"]}
    assert {name: c["pii"] for name, c in columns.items() if c["pii"]} == PII_COLUMNS
    assert columns["faa"]["pii"] is None and "pii_keep" in columns["faa"]

    monkeypatch.setattr(console, "width", 250)  # one line per column
    result = invoke("inspect", table)
    assert result.exit_code == 0, result.output
    assert "PII" in result.stdout
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert set(rows) >= set(PII_COLUMNS) | {"faa", "amount"}
    assert "email: fakes" in result.stdout
    assert "person_name: values swapped" in result.stdout


def test_inspect_takes_overrides(table: Path) -> None:
    result = invoke("inspect", table, "--json", "--pii", "email=keep", "--pii", "faa=first_name")
    assert result.exit_code == 0, result.output
    columns = {c["name"]: c for c in json.loads(result.stdout)["schema"]["columns"]}
    assert columns["email"]["pii_keep"] is True
    assert columns["faa"]["pii"] == "first_name"
    result = invoke("inspect", table, "--json", "--no-pii-detect")
    assert all(c["pii"] is None for c in json.loads(result.stdout)["schema"]["columns"])
    result = invoke("inspect", table, "--pii", "email=postcode")
    assert result.exit_code != 0
    assert "unknown PII treatment" in result.output


def test_generate_replaces_pii_and_fit_keeps_no_secret(table: Path, tmp_path: Path) -> None:
    output = tmp_path / "fake.csv"
    result = invoke("generate", table, "-n", "300", "-o", output, "--seed", "1")
    assert result.exit_code == 0, result.output
    real, fake = pd.read_csv(table, dtype=str), pd.read_csv(output, dtype=str)
    for column in PII_COLUMNS:
        assert set(fake[column].dropna()).isdisjoint(set(real[column]))

    model = tmp_path / "model.synth"
    secret = {"SYNTHDATA_PII_SECRET": "cli-secret-123"}
    result = invoke("fit", table, "-o", model, "--pii", "doctor=keep", env=secret)
    assert result.exit_code == 0, result.output
    assert b"cli-secret-123" not in model.read_bytes()
    sampled = tmp_path / "sampled.csv"
    assert invoke("sample", model, "-n", "200", "-o", sampled).exit_code == 0
    assert set(pd.read_csv(sampled)["doctor"]) <= set(real["doctor"])  # kept, as asked
