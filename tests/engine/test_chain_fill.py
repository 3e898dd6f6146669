"""Seed rows: known cells kept, the others drawn given them, constraints kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata.engine.constraints import unmet
from synthdata.engine.errors import InputError
from tests.fixtures.tables import CONSTRAINTS, orders


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return pd.read_csv("examples/customers.csv")


@pytest.fixture(scope="module")
def model(customers: pd.DataFrame) -> synthdata.Synthesizer:
    # Every city kept (three are held by fewer than 5 rows, which engine/rare.py would
    # replace by new names outside any region): the tests follow city -> region exactly.
    return synthdata.fit(customers, min_value_count=1)


def test_known_cells_are_kept_and_the_rest_follows_them(
    customers: pd.DataFrame, model: synthdata.Synthesizer
) -> None:
    partial = pd.DataFrame(
        {
            "region": ["north", "south", None, "east", "west"] * 200,
            "segment": ["premium", None, "budget", None, "premium"] * 200,
            "age": [25, None, 61, 40, None] * 200,
        }
    )
    filled = model.fill(partial, seed=4)
    assert len(filled) == len(partial)
    assert list(filled.columns) == list(customers.columns)
    for name in partial.columns:
        known = partial[name].notna()
        assert (filled.loc[known, name].astype(str) == partial.loc[known, name].astype(str)).all()
        assert filled.loc[~known, name].notna().mean() > 0.9
    # In the real table every city belongs to its region: so does every filled city,
    # whether the region was given or drawn.
    assert (filled["city"].str.split("_").str[0] == filled["region"]).all()
    assert filled.equals(model.fill(partial, seed=4))
    assert not filled.equals(model.fill(partial, seed=5))


def test_filled_cells_follow_the_known_ones_as_the_real_rows_do(
    customers: pd.DataFrame, model: synthdata.Synthesizer
) -> None:
    # Whichever of city and region comes first in the chain, each region's filled
    # cities are the real cities of that region, and not just one of them.
    partial = pd.DataFrame(
        {"region": customers["region"].sample(3_000, replace=True, random_state=1)}
    )
    filled = model.fill(partial, seed=1)
    real = customers.groupby("region")["city"].agg(set)
    for region, cities in filled.groupby("region")["city"]:
        assert set(cities) <= real[region]
        assert len(set(cities)) >= 0.8 * len(real[region])  # not a single city each


def test_bad_seed_rows_are_clear_errors(model: synthdata.Synthesizer) -> None:
    with pytest.raises(InputError, match="unknown column 'height'"):
        model.fill(pd.DataFrame({"height": [1.8]}))
    with pytest.raises(InputError, match="'mars' never occurs in column 'region'"):
        model.fill(pd.DataFrame({"region": ["north", "mars"]}))
    copula = synthdata.fit(pd.read_csv("examples/customers.csv").head(300), synthesizer="copula")
    with pytest.raises(InputError, match="cannot fill in partial rows"):
        copula.fill(pd.DataFrame({"region": ["north"]}))


def test_constraints_hold_in_filled_rows() -> None:
    real = orders()
    model = synthdata.fit(real, constraints=CONSTRAINTS)
    partial = pd.DataFrame(
        {
            "net": real["net"].head(400).to_numpy(),
            "country": ["de", None, "fr", None] * 100,
            "ordered_at": real["ordered_at"].head(400).to_numpy(),
        }
    )
    filled = model.fill(partial, seed=2)
    assert unmet(filled, model.schema, model.constraints).sum() == 0
    assert np.allclose(filled["net"].astype(float), partial["net"])
    assert (filled["gross"] - filled["net"] - filled["tax"]).abs().max() < 0.006
