"""Fidelity measures on hand-built tables whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdata.engine import privacy
from synthdata.engine.errors import InputError
from synthdata.engine.fidelity import (
    FidelityScores,
    alpha_precision_beta_recall,
    canonical_frame,
    fixed_bins,
    ks_complement,
    pair_trends,
    score_fidelity,
    scored_kinds,
    tv_complement,
)
from synthdata.engine.schema import ColumnKind, TableSchema, infer_schema

ROWS = 2000


def make_table(seed: int, rows: int = ROWS, shift: float = 0.0) -> pd.DataFrame:
    """Mixed columns with strong dependencies (y on x, segment and flag on x)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows) + shift
    return pd.DataFrame(
        {
            "row_id": np.arange(rows),
            "x": x,
            "y": 2 * x + rng.normal(scale=0.3, size=rows),
            "segment": np.where(x > 0.3, "high", np.where(x < -0.3, "low", "mid")),
            "flag": x + rng.normal(scale=0.5, size=rows) > 0.5,
            "visits": rng.poisson(3 + np.clip(x, -2, 2), size=rows),
            "signup": pd.Timestamp("2021-01-01")
            + pd.to_timedelta(np.clip(400 + 150 * x, 0, 900).astype(int), unit="D"),
        }
    )


def shuffle_columns(frame: pd.DataFrame, seed: int = 100) -> pd.DataFrame:
    """Same marginals, every column permuted on its own: every dependency broken."""
    out = frame.copy()
    for position, name in enumerate(out.columns):
        out[name] = out[name].sample(frac=1, random_state=seed + position).to_numpy()
    return out


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_table(0)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return make_table(1)


@pytest.fixture(scope="module")
def schema(train: pd.DataFrame) -> TableSchema:
    return infer_schema(train)


@pytest.fixture(scope="module")
def fresh(train: pd.DataFrame, holdout: pd.DataFrame, schema: TableSchema) -> FidelityScores:
    """A faithful generator that does not memorise: new draws from the same law."""
    return score_fidelity(train, make_table(2), schema, holdout=holdout, target="segment")


def test_real_against_itself_reordered_is_indistinguishable(
    train: pd.DataFrame, schema: TableSchema
) -> None:
    reordered = train.sample(frac=1, random_state=5).reset_index(drop=True)
    scores = score_fidelity(train, reordered, schema)
    assert scores.column_shapes == pytest.approx(1.0)
    assert scores.pair_trend == pytest.approx(1.0)
    assert scores.correlation_similarity == pytest.approx(1.0)
    assert scores.detection is not None and scores.detection > 0.95
    assert scores.alpha_precision == 1.0 and scores.beta_recall == 1.0
    assert scores.sdmetrics_pair_trend == pytest.approx(1.0)
    assert len(scores.pair_trend_scores) == 15  # every pair of the six scored columns
    assert "row_id" not in scores.column_shape_scores  # identifiers are not scored


def test_independent_columns_lose_pair_trend_and_are_detected(
    train: pd.DataFrame, holdout: pd.DataFrame, schema: TableSchema, fresh: FidelityScores
) -> None:
    broken = score_fidelity(train, shuffle_columns(make_table(2)), schema, holdout=holdout)
    assert fresh.pair_trend is not None and broken.pair_trend is not None
    assert broken.column_shapes == pytest.approx(fresh.column_shapes)  # same marginals
    assert broken.pair_trend < fresh.pair_trend - 0.15
    assert broken.pair_trend_scores["x~y"] < 0.3  # 10 x 10 diagonal spread over the grid
    assert fresh.pair_trend_scores["x~y"] > 0.9
    assert broken.detection is not None and broken.detection < 0.2
    assert fresh.detection is not None and fresh.detection > 0.8
    assert broken.alpha_precision is not None and fresh.alpha_precision is not None
    assert broken.alpha_precision < fresh.alpha_precision - 0.2


def test_holdout_scored_as_synthetic_is_the_noise_floor(
    train: pd.DataFrame, holdout: pd.DataFrame, schema: TableSchema, fresh: FidelityScores
) -> None:
    own = score_fidelity(train, holdout, schema, holdout=holdout, measures=["trends"])
    assert own.pair_trend is not None and fresh.pair_trend is not None
    assert abs(own.pair_trend - fresh.pair_trend) < 0.02  # both are fresh draws


def test_copy_of_the_training_rows_is_caught(
    train: pd.DataFrame, holdout: pd.DataFrame, schema: TableSchema
) -> None:
    copy = train.sample(frac=1, random_state=3).assign(row_id=lambda f: f["row_id"] + 10**6)
    scores = score_fidelity(train, copy, schema, holdout=holdout, measures=["dcr", "copies"])
    assert scores.dcr_share == 1.0
    assert scores.exact_copy_rate == 1.0  # a fresh key does not hide a copied row
    assert scores.holdout_copy_rate == 0.0


def test_fresh_draws_sit_between_training_and_holdout(fresh: FidelityScores) -> None:
    assert fresh.dcr_share is not None and 0.44 < fresh.dcr_share < 0.56
    assert fresh.exact_copy_rate == 0.0
    assert fresh.beta_recall is not None and fresh.beta_recall > 0.85
    tstr = fresh.tstr
    assert tstr is not None and tstr["task"] == "classification"
    assert tstr["metric"] == "macro_f1" and tstr["ratio"] > 0.9


def test_tstr_falls_when_the_target_loses_its_link(
    train: pd.DataFrame, holdout: pd.DataFrame, schema: TableSchema, fresh: FidelityScores
) -> None:
    fake = make_table(2).assign(y=lambda f: f["y"].sample(frac=1, random_state=1).to_numpy())
    scores = score_fidelity(train, fake, schema, holdout=holdout, target="y", measures=["tstr"])
    assert scores.tstr is not None
    assert scores.tstr["metric"] == "r2" and scores.tstr["trtr"] > 0.9
    assert scores.tstr["ratio"] < 0.1
    reused = score_fidelity(
        train, fake, schema, holdout=holdout, target="y", measures=["tstr"], trtr=0.5
    )
    assert reused.tstr is not None and reused.tstr["trtr"] == 0.5


def test_nulls_count_in_column_shapes() -> None:
    real = np.arange(100, dtype=float)
    holed = real.copy()
    holed[::3] = np.nan  # a third of the values lost
    assert ks_complement(real, real[::-1]) == 1.0
    assert ks_complement(real, holed) == pytest.approx(1 - 34 / 100, abs=0.01)
    assert ks_complement(real, np.full(10, np.nan)) == 0.0
    labels = pd.Series(["a", "b"] * 50)
    assert tv_complement(labels, labels.where(labels == "a")) == pytest.approx(0.5)


def test_bins_are_fixed_by_the_real_rows(train: pd.DataFrame, schema: TableSchema) -> None:
    kinds = scored_kinds(schema)
    real = canonical_frame(train[list(kinds)], schema, [], "real")
    bins = fixed_bins(real, kinds)
    assert bins["x"].size == 10 + 1  # nine inner edges: ten value bins, one null bin
    assert set(bins["segment"].levels) == {"low", "mid", "high"}
    assert bins["segment"].size == 3 + 3  # plus rare, unseen and null
    # A synthetic table twice as wide falls on other real bins, although its own quantile
    # bins (as SDMetrics draws them) would look just like the real ones.
    wide = real.assign(x=real["x"] * 2)
    assert pair_trends(real, wide, kinds, bins)["x~y"] < 0.7
    # Levels the real rows never had land in a bin of their own instead of matching.
    odd = real.assign(segment=real["segment"].replace({"high": "HIGH"}))
    assert pair_trends(real, odd, kinds, bins)["segment~flag"] < 0.8


def test_support_catches_off_manifold_rows_and_mode_collapse(
    train: pd.DataFrame, schema: TableSchema
) -> None:
    kinds = scored_kinds(schema)
    real = canonical_frame(train[list(kinds)], schema, [], "real")
    far = real.assign(x=real["x"] + 10, y=real["y"] - 20)
    off = alpha_precision_beta_recall(real, far, kinds)
    assert off["alpha_precision"] < 0.05 and off["beta_recall"] < 0.05
    collapsed = pd.concat([real.iloc[:5]] * 400, ignore_index=True)
    mode = alpha_precision_beta_recall(real, collapsed, kinds)
    assert mode["alpha_precision"] == 1.0  # every row is a real row...
    assert mode["beta_recall"] < 0.1  # ...but it covers almost none of the real support


def test_dtypes_of_the_synthetic_table_do_not_count(
    train: pd.DataFrame, schema: TableSchema
) -> None:
    text = train.assign(
        signup=train["signup"].dt.strftime("%Y-%m-%d"),
        visits=train["visits"].astype("float64"),
        flag=train["flag"].map({True: "True", False: "False"}),
    )
    scores = score_fidelity(train, text, schema, measures=["shapes", "trends", "copies"])
    assert scores.column_shapes == pytest.approx(1.0)
    assert scores.pair_trend == pytest.approx(1.0)
    assert scores.exact_copy_rate == 1.0
    assert scores.notes == []


def test_missing_holdout_or_target_is_said(train: pd.DataFrame, schema: TableSchema) -> None:
    scores = score_fidelity(train, make_table(2), schema, measures=["tstr", "dcr"])
    assert scores.tstr is None and scores.dcr_share is None
    assert any("TSTR" in note for note in scores.notes)
    assert any("DCR share" in note for note in scores.notes)
    data = scores.to_dict()
    assert data["dcr_share"] is None and data["rows"]["train"] == ROWS


def test_bad_requests_are_input_errors(
    train: pd.DataFrame, holdout: pd.DataFrame, schema: TableSchema
) -> None:
    with pytest.raises(InputError, match="unknown measure"):
        score_fidelity(train, train, schema, measures=["vibes"])
    with pytest.raises(InputError, match="row_id"):
        score_fidelity(train, train, schema, holdout=holdout, target="row_id", measures=["tstr"])


def test_dcr_share_counts_ties_as_half() -> None:
    kinds = scored_kinds(infer_schema(pd.DataFrame({"a": ["x", "y"] * 50})))
    same = pd.DataFrame({"a": ["x", "y"] * 50})
    # Every synthetic row is as near the training rows as the holdout rows: 0.5, not 0 or 1.
    assert privacy.dcr_share(same, same, same, kinds)["dcr_share"] == 0.5


def test_a_column_empty_on_both_sides_is_left_out_of_detection() -> None:
    from synthdata.engine._fidelity.detection import detection

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(size=300), "empty": [np.nan] * 300})
    fake = pd.DataFrame({"a": rng.normal(size=300) + 3.0, "empty": [np.nan] * 300})
    kinds = {"a": ColumnKind.CONTINUOUS, "empty": ColumnKind.CONTINUOUS}
    result = detection(real, fake, kinds)
    assert result["score"] is not None and result["score"] < 0.2  # `a` alone tells them apart
    only_empty = detection(real[["empty"]], fake[["empty"]], {"empty": ColumnKind.CONTINUOUS})
    assert only_empty["score"] is None
