"""The default "chain" synthesizer: conditionals a copula cannot keep, and the engine contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdata._api import load_model
from synthdata.engine.base import DEFAULT_SYNTHESIZER, create_synthesizer
from tests.fixtures.tables import segmented_table


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, object]:
    data = segmented_table()
    return data, create_synthesizer("chain").fit(data)


def test_chain_is_the_default() -> None:
    assert DEFAULT_SYNTHESIZER == "chain"
    assert create_synthesizer().name == "chain"


def test_keeps_an_interaction_that_flips_a_correlation(fitted) -> None:
    data, model = fitted
    fake = model.sample(6_000, seed=1)
    for segment, sign in (("retail", 1), ("wholesale", -1), ("online", 1)):
        rows = fake[fake["segment"] == segment]
        corr = np.corrcoef(rows["x"], rows["y"])[0, 1]
        assert sign * corr > 0.8, (segment, corr)
    copula = create_synthesizer("copula").fit(data).sample(6_000, seed=1)
    wholesale = copula[copula["segment"] == "wholesale"]
    # The stratified copula keeps it too only because it strata by segment; the chain
    # must not be worse than the copula on it.
    chain_corr = np.corrcoef(fake.loc[fake.segment == "wholesale", ["x", "y"]].T)[0, 1]
    copula_corr = np.corrcoef(wholesale[["x", "y"]].T)[0, 1]
    assert chain_corr <= copula_corr + 0.05


def test_missingness_and_counts_follow_the_segment(fitted) -> None:
    data, model = fitted
    fake = model.sample(6_000, seed=2)
    real_missing = data["amount"].isna().groupby(data["segment"]).mean()
    fake_missing = fake["amount"].isna().groupby(fake["segment"]).mean()
    assert abs(fake_missing["online"] - real_missing["online"]) < 0.08
    assert fake_missing["retail"] < 0.05
    items = fake.groupby("segment")["items"].mean()
    assert items["wholesale"] > 15 > 4 > items["retail"]


def test_values_keep_their_form(fitted) -> None:
    data, model = fitted
    fake = model.sample(2_000, seed=3)
    assert list(fake.columns) == list(data.columns)
    assert fake["items"].dtype == np.int64
    assert fake["day"].dtype.kind == "M"
    assert set(fake["segment"]) <= set(data["segment"])
    assert np.allclose(fake["amount"].dropna(), fake["amount"].dropna().round(2))
    assert fake["x"].between(data["x"].min(), data["x"].max()).all()


def test_same_seed_same_rows_at_once_streamed_and_prefix(fitted) -> None:
    _, model = fitted
    whole = model.sample(2_500, seed=7)
    assert whole.equals(model.sample(2_500, seed=7))
    streamed = pd.concat(list(model.iter_chunks(2_500, seed=7)), ignore_index=True)
    assert streamed.astype(str).equals(whole.astype(str))
    assert model.sample(1_000, seed=7).equals(whole.head(1_000))
    assert not whole.equals(model.sample(2_500, seed=8))


def test_save_and_load_give_the_same_rows(fitted, tmp_path: Path) -> None:
    _, model = fitted
    path = model.save(tmp_path / "table.synth")
    again = load_model(path)
    assert again.name == "chain"
    assert again.sample(1_500, seed=4).equals(model.sample(1_500, seed=4))


def test_wide_tables_limit_the_parents_per_column() -> None:
    rng = np.random.default_rng(5)
    data = pd.DataFrame({f"c{j}": rng.normal(size=500) for j in range(40)})
    model = create_synthesizer("chain", max_parents=6).fit(data)
    parents = [len(tree.parents) for tree in model._model.trees]
    assert max(parents) == 6
    assert model.sample(100, seed=0).shape == (100, 40)


def test_leaves_hold_at_least_the_minimum_rows() -> None:
    data = segmented_table(n=3_000)
    model = create_synthesizer("chain", min_leaf_rows=50).fit(data)
    for tree in model._model.trees:
        leaves = int((tree.feature < 0).sum())
        assert leaves <= 3_000 // 50
