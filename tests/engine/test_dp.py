"""The dp synthesizer: its privacy accounting adds up, its model file holds only noisy
statistics, and it still learns a table's main structure."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata.engine._dp.accounting import DEFAULT_DELTA, Ledger, epsilon_for, rho_for
from synthdata.engine.dp import DPSynthesizer
from synthdata.engine.errors import InputError

OUTLIER = 987_654.321
UNIQUE = "ZEBRA-UNIQUE-7781"


def _table(rows: int = 4_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, rows)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(0, 2, rows),
            "age": rng.integers(18, 90, rows),
            "city": rng.choice(["Lyon", "Nice", "Paris", "Brest"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "member": rng.random(rows) < 0.3,
            "joined": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
        }
    )
    frame.loc[7, "x"] = OUTLIER
    frame.loc[11, "city"] = UNIQUE
    frame.loc[20:40, "y"] = np.nan
    return frame


def test_the_conversion_is_the_standard_zcdp_bound() -> None:
    for epsilon, delta in [(1.0, 1e-6), (10.0, 1e-9), (0.1, 1e-5)]:
        rho = rho_for(epsilon, delta)
        # Bun & Steinke 2016, Proposition 1.3: rho-zCDP is (rho + 2 sqrt(rho ln 1/delta), delta)-DP.
        assert rho + 2 * math.sqrt(rho * math.log(1 / delta)) == pytest.approx(epsilon, rel=1e-12)
        assert epsilon_for(rho, delta) == pytest.approx(epsilon, rel=1e-12)
    assert rho_for(1.0, 1e-6) == pytest.approx(
        (math.sqrt(math.log(1e6) + 1) - math.sqrt(math.log(1e6))) ** 2
    )


@pytest.mark.parametrize("epsilon", [1.0, 10.0])
def test_the_steps_spend_exactly_the_budget(epsilon: float) -> None:
    model = DPSynthesizer(epsilon=epsilon).fit(_table())
    ledger = model.ledger
    assert ledger is not None
    assert ledger.delta == DEFAULT_DELTA
    assert ledger.rho_budget == pytest.approx(rho_for(epsilon, DEFAULT_DELTA / 2), rel=1e-12)
    # Every step's rho is what OpenDP's privacy map gave; together they are the budget.
    assert all(step.rho > 0 for step in ledger.steps)
    assert sum(step.rho for step in ledger.steps) == pytest.approx(ledger.rho_budget, rel=1e-6)
    assert ledger.rho_spent <= ledger.rho_budget
    assert ledger.epsilon_spent == pytest.approx(epsilon, rel=1e-6)
    assert ledger.epsilon_spent <= epsilon
    assert ledger.delta_spent <= ledger.delta
    steps = {step.step for step in ledger.steps}
    assert steps == {"range", "categories", "one_way", "select", "two_way"}
    # Five modelled columns: a one-way marginal each, a four-edge tree.
    assert sum(step.step == "one_way" for step in ledger.steps) == 6
    assert sum(step.step == "two_way" for step in ledger.steps) == 5


def test_public_bounds_and_categories_spend_nothing_on_discovery() -> None:
    frame = _table().drop(columns=["joined"])
    model = DPSynthesizer(
        epsilon=1.0,
        bounds={"x": [0, 100], "y": [0, 200], "age": [18, 90]},
        categories={"city": ["Lyon", "Nice", "Paris", "Brest"]},
    ).fit(frame)
    assert model.ledger is not None
    assert {step.step for step in model.ledger.steps} == {"one_way", "select", "two_way"}
    assert model.ledger.rho_spent == pytest.approx(model.ledger.rho_budget, rel=1e-6)


def test_the_model_file_holds_only_noisy_statistics(tmp_path: Path) -> None:
    frame = _table()
    model = synthdata.fit(frame, epsilon=1.0)
    path = model.save(tmp_path / "dp.zip")
    with zipfile.ZipFile(path) as archive:
        header_text = archive.read("model.json").decode()
        raw = archive.read("arrays.npz")
    header = json.loads(header_text)
    assert header["synthesizer"] == "dp"
    privacy = header["params"]["privacy"]
    assert privacy["epsilon"] == 1.0 and privacy["delta"] == DEFAULT_DELTA
    assert privacy["rho_spent"] == pytest.approx(privacy["rho_budget"], rel=1e-6)
    assert len(privacy["steps"]) > 10
    # The unique outlier and the category held by one row are nowhere in the file.
    assert UNIQUE not in header_text
    assert "987654" not in header_text
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
        for name in arrays.files:
            values = np.asarray(arrays[name], dtype=np.float64)
            assert not np.isclose(values, OUTLIER, rtol=1e-6).any(), name
        # x's bounds were found privately: the outlier (one row) is clipped, not kept.
        assert arrays["edges_0"].max() < OUTLIER / 2
    # Nothing the ordinary schema learns from values: null rates, decimals, constants.
    for column in header["schema"]["columns"]:
        assert column["null_rate"] == 0.0
        assert column["decimals"] is None and column["constant_value"] is None
    # The file still samples the same rows as the model it came from.
    again = synthdata.load_model(path)
    pd.testing.assert_frame_equal(again.sample(200, seed=3), model.sample(200, seed=3))


def test_a_rare_category_is_never_kept() -> None:
    frame = _table()
    frame.loc[100:102, "city"] = "Rare"  # three rows: fewer than the default 5
    model = DPSynthesizer(epsilon=10.0).fit(frame)
    rows = model.sample(5_000, seed=0)
    assert "Rare" not in set(rows["city"].dropna())
    assert UNIQUE not in set(rows["city"].dropna())
    assert {"Lyon", "Nice", "Paris", "Brest"} <= set(rows["city"].dropna())


def test_it_learns_the_main_structure_at_epsilon_10() -> None:
    frame = _table(8_000)
    rows = synthdata.fit(frame, epsilon=10.0).sample(8_000, seed=1)
    assert list(rows.columns) == list(frame.columns)
    both = rows[["x", "y"]].dropna()
    assert np.corrcoef(both["x"], both["y"])[0, 1] > 0.6  # real: 0.99 (without the outlier)
    assert abs(rows["x"].median() - 50) < 5
    shares = rows["city"].value_counts(normalize=True)
    assert abs(shares["Lyon"] - 0.4) < 0.08
    assert abs(rows["member"].astype(float).mean() - 0.3) < 0.08
    assert rows["joined"].between("2019-06-01", "2023-01-01").mean() > 0.9
    assert rows["age"].between(10, 100).all()


def test_epsilon_goes_with_the_dp_synthesizer_only() -> None:
    frame = _table(500)
    with pytest.raises(InputError, match="dp synthesizer"):
        synthdata.fit(frame, synthesizer="copula", epsilon=1.0)
    with pytest.raises(InputError, match="needs epsilon"):
        synthdata.fit(frame, delta=1e-6)
    with pytest.raises(InputError, match="constraints"):
        synthdata.fit(frame, epsilon=1.0, constraints=["x <= y"])
    with pytest.raises(InputError, match="epsilon"):
        DPSynthesizer(epsilon=0.0)
    with pytest.raises(InputError, match="delta"):
        Ledger(1.0, 1.5)
    model = synthdata.fit(frame, epsilon=2.0, delta=1e-8)
    assert model.ledger is not None and model.ledger.delta == 1e-8
