"""`chain` with columns fixed first, and rows drawn given those columns (`sample_after`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdata.engine.chain import ChainSynthesizer
from synthdata.engine.errors import InputError
from synthdata.engine.model_format import load_model


def _table(rows: int = 4_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    group = rng.choice(["low", "high"], rows)
    size = rng.integers(0, 100, rows)
    value = np.where(group == "high", 100.0, 10.0) + size / 10 + rng.normal(0, 1, rows)
    return pd.DataFrame({"value": value, "size": size, "group": group})


def test_first_columns_lead_the_chain_in_the_order_given() -> None:
    model = ChainSynthesizer(first=["size", "value"]).fit(_table())
    names = [codec.name for codec in model._model.codecs]
    assert names == ["size", "value", "group"]
    assert next(c.name for c in ChainSynthesizer().fit(_table())._model.codecs) == "group"


def test_sample_after_draws_the_rest_given_the_first_columns(tmp_path: Path) -> None:
    model = ChainSynthesizer(first=["group", "size"]).fit(_table())
    given = pd.DataFrame({"group": ["high"] * 500 + ["low"] * 500, "size": [90] * 500 + [5] * 500})
    rows = model.sample_after(given, seed=1)
    assert list(rows.columns) == ["value", "size", "group"]
    assert (rows["group"].to_numpy() == given["group"].to_numpy()).all()
    assert rows["size"].iloc[:500].between(80, 99).all()
    assert rows["value"].iloc[:500].mean() == pytest.approx(109, abs=3)
    assert rows["value"].iloc[500:].mean() == pytest.approx(10.5, abs=3)
    again = load_model(model.save(tmp_path / "m.synth"))
    assert isinstance(again, ChainSynthesizer)
    pd.testing.assert_frame_equal(again.sample_after(given, seed=1), rows)


def test_sample_after_takes_an_unseen_level_as_the_most_common() -> None:
    model = ChainSynthesizer(first=["group"]).fit(_table())
    rows = model.sample_after(pd.DataFrame({"group": ["never seen"] * 10}), seed=2)
    assert len(rows) == 10 and rows["value"].notna().all()
    with pytest.raises(InputError, match="first columns"):
        model.sample_after(pd.DataFrame({"size": [1]}))


def test_fill_given_the_first_columns_matches_sample_after() -> None:
    model = ChainSynthesizer(first=["group"]).fit(_table())
    given = pd.DataFrame({"group": ["high", "low"] * 200})
    filled = model.fill(given, seed=3)
    assert filled.loc[given["group"] == "high", "value"].mean() > 90
    assert filled.loc[given["group"] == "low", "value"].mean() < 30
