"""Quantile marginals: identical to np.quantile, and no values invented in empty gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata.engine.marginals import GRID, QuantileMarginal, sorted_quantiles


@pytest.mark.parametrize("n", [1, 2, 3, 17, 2048, 2049, 2050, 100_003])
def test_sorted_quantiles_equal_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    for values in (rng.standard_normal(n), rng.integers(0, 4, n) * 1.0, rng.lognormal(0, 3, n)):
        for probs in (np.linspace(0, 1, GRID), np.linspace(0, 1, 7), rng.random(100)):
            expected = np.quantile(values, probs, method="linear")
            assert np.array_equal(sorted_quantiles(np.sort(values), probs), expected)


def test_the_grid_is_the_data_when_there_are_fewer_values() -> None:
    values = np.random.default_rng(0).normal(size=500)
    assert np.array_equal(QuantileMarginal.fit(values).grid, np.sort(values))
    assert len(QuantileMarginal.fit(np.arange(10_000.0)).grid) == GRID
    assert len(QuantileMarginal.fit(np.array([3.0])).grid) == 2


def _outlier_table() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.append(rng.lognormal(10, 1, 999), 1e9)


def test_a_lone_outlier_does_not_fill_the_gap_below_it() -> None:
    real = _outlier_table()
    marginal = QuantileMarginal.fit(real)
    synthetic = marginal.from_normal(np.random.default_rng(1).standard_normal(1_000_000))
    expected = np.quantile(real, 0.999, method="inverted_cdf")  # the 999th value
    assert 0.5 < np.quantile(synthetic, 0.999) / expected < 2
    second = np.sort(real)[-2]
    in_gap = (synthetic > 2 * second) & (synthetic < 0.5 * real.max())
    assert in_gap.mean() < 1e-5  # linear interpolation put 1 in 1,000 there
    assert synthetic.max() <= real.max() and synthetic.min() >= real.min()


def test_outliers_are_not_overproduced_end_to_end() -> None:
    real = pd.DataFrame({"amount": np.round(_outlier_table(), 2)})
    fake = synthdata.fit(real, synthesizer="copula").sample(100_000, seed=2)["amount"]
    ratio = fake.quantile(0.999) / np.quantile(real["amount"], 0.999, method="inverted_cdf")
    assert 0.5 < ratio < 2


def test_smooth_data_is_still_interpolated() -> None:
    rng = np.random.default_rng(3)
    real = rng.normal(size=5_000)
    marginal = QuantileMarginal.fit(real)
    synthetic = marginal.from_normal(rng.standard_normal(200_000))
    assert len(np.unique(np.round(synthetic, 9))) > 190_000  # values between real ones
    assert np.quantile(synthetic, [0.01, 0.5, 0.99]) == pytest.approx(
        np.quantile(real, [0.01, 0.5, 0.99]), abs=0.05
    )
