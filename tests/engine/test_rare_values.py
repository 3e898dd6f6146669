"""Rare values: a category held by fewer than k real rows is never sampled verbatim."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata.engine.rare import MIN_VALUE_COUNT_ENV, RARE_LEVEL
from tests.fixtures.privacy_tables import NOTE_PATTERN, notes_table


def test_rare_notes_never_written_verbatim() -> None:
    real, rare = notes_table()
    model = synthdata.fit(real)
    fake = model.sample(5_000, seed=1)
    assert not fake["notes"].isin(rare).any()
    replaced = fake["notes"][~fake["notes"].isin(real["notes"])]
    # About as many rows as the 2 % of real rows that held a rare note, each of its shape.
    assert 30 <= len(replaced) <= 200
    assert replaced.str.fullmatch(NOTE_PATTERN).all()
    assert not fake["notes"].astype(str).str.contains(RARE_LEVEL, regex=False).any()
    pooled = model.rare_values["notes"]
    assert (pooled.values, pooled.rows, pooled.min_count) == (40, 40, 5)
    assert set(model.rare_values) == {"notes"}  # sex has two common levels


def test_short_codes_become_a_label_and_k_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    codes = rng.choice(["LAX", "JFK", "ORD"], 2_000).astype(object)
    codes[:3], codes[3:7], codes[7:15] = "00M", "K7Q", "BOS"  # 3, 4 and 8 rows
    real = pd.DataFrame({"code": codes, "delay": rng.normal(10, 5, 2_000).round(1)})
    fake = synthdata.fit(real).sample(5_000, seed=2)
    # A three-character shape has too few values to draw fresh ones safely: "other".
    assert not fake["code"].isin(["00M", "K7Q"]).any()
    assert (fake["code"] == "other").sum() > 0
    assert fake["code"].isin(["BOS"]).any()  # 8 rows >= k = 5
    monkeypatch.setenv(MIN_VALUE_COUNT_ENV, "10")
    stricter = synthdata.fit(real).sample(5_000, seed=2)
    assert not stricter["code"].isin(["00M", "K7Q", "BOS"]).any()
    kept = synthdata.fit(real, min_value_count=1).sample(5_000, seed=2)
    assert kept["code"].isin(["00M", "K7Q"]).any()  # k = 1 turns the rule off


def test_every_synthesizer_is_protected_and_numbers_become_missing() -> None:
    real, rare = notes_table(seed=5)
    real["ward"] = np.where(np.arange(len(real)) < 2, 99, np.arange(len(real)) % 3)
    model = synthdata.fit(real, synthesizer="copula", overrides={"ward": "categorical"})
    fake = model.sample(5_000, seed=0)
    assert not fake["notes"].isin(rare).any()
    assert not (fake["ward"] == 99).any()
    assert fake["ward"].isna().any()  # not text: a rare number is written as missing
    assert model.rare_values["ward"].replacement == "null"


def test_model_file_holds_no_rare_value(tmp_path: Path) -> None:
    real, rare = notes_table(seed=9)
    path = synthdata.fit(real).save(tmp_path / "notes.synth")
    with zipfile.ZipFile(path) as archive:
        stored = b"".join(archive.read(name) for name in archive.namelist())
        header = json.loads(archive.read("model.json"))
    for note in rare:
        assert note.encode() not in stored
        assert note.split()[1].encode() not in stored
    assert header["rare_values"][0]["column"] == "notes"
    loaded = synthdata.load_model(path)
    fake = loaded.sample(3_000, seed=4)
    assert not fake["notes"].isin(rare).any()
    assert fake["notes"][~fake["notes"].isin(real["notes"])].str.fullmatch(NOTE_PATTERN).all()


def test_evaluation_counts_rare_values_per_column() -> None:
    real, _ = notes_table()
    fake = synthdata.fit(real).sample(2_000, seed=1)
    safe = synthdata.evaluate(real, fake, max_rows=500, folds=2).privacy
    assert safe["min_value_count"] == 5
    assert safe["rare_values"]["notes"] == {
        "rare_values": 40,
        "rare_rows": 40,
        "emitted_verbatim": 0,
        "synthetic_rows": 0,
        "protected": 40,
    }
    copied = synthdata.evaluate(real, real, max_rows=500, folds=2).privacy["rare_values"]
    assert copied["notes"]["emitted_verbatim"] == 40
    assert copied["notes"]["protected"] == 0


def test_fixed_combinations_still_hold_when_rare_values_are_protected() -> None:
    """A rare city swapped for a fresh name would pair with its region in no real row:
    the rows keep common combinations instead, so both rules hold."""
    rng = np.random.default_rng(5)
    regions = {"east": ["Boston", "Albany"], "west": ["Denver", "Reno"]}
    region = rng.choice(list(regions), 2_000)
    city = np.array([rng.choice(regions[r]) for r in region], dtype=object)
    city[:3], region[:3] = "Tinyville", "east"  # 3 rows: rare
    real = pd.DataFrame({"region": region, "city": city, "x": rng.normal(size=2_000)})
    constraint = {"type": "fixed_combinations", "columns": ["region", "city"]}
    model = synthdata.fit(real, constraints=[constraint])
    fake = model.sample(3_000, seed=4)
    seen = set(zip(real["region"], real["city"], strict=True))
    assert set(zip(fake["region"], fake["city"], strict=True)) <= seen - {("east", "Tinyville")}
    assert "city" in model.rare_values
