"""Quality and privacy evaluation on small hand-built tables with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdata.engine.errors import InputError
from synthdata.engine.evaluation import EvaluationResult, evaluate
from synthdata.engine.privacy import risk_verdict

ROWS = 1500


def make_table(seed: int, rows: int = ROWS, shift: float = 0.0) -> pd.DataFrame:
    """Mixed columns with strong dependencies: y follows x, segment and flag follow x."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows) + shift
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "x": x,
            "y": 2 * x + rng.normal(scale=0.3, size=rows),
            "segment": np.where(x > 0, "high", "low"),
            "flag": x > 0.5,
            "visits": rng.poisson(3 + np.clip(x, -2, 2), size=rows),
            "signup": pd.Timestamp("2021-01-01")
            + pd.to_timedelta(rng.integers(0, 900, rows), unit="D"),
        }
    )


def score(scores: dict[str, float | None], key: str) -> float:
    """One column's or pair's score, which must have been computed."""
    value = scores[key]
    assert value is not None, f"{key} was not scored"
    return value


def shuffle_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Same marginals, every column permuted independently: all dependencies broken."""
    out = frame.copy()
    for position, name in enumerate(out.columns):
        out[name] = out[name].sample(frac=1, random_state=100 + position).to_numpy()
    return out


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return make_table(0)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return make_table(1)


@pytest.fixture(scope="module")
def fresh(real: pd.DataFrame, holdout: pd.DataFrame) -> EvaluationResult:
    """A faithful, non-memorising generator: new draws from the real distribution."""
    return evaluate(real, make_table(2), holdout=holdout)


def test_identical_tables_score_one(real: pd.DataFrame) -> None:
    result = evaluate(real, real.copy())
    assert result.quality_score == pytest.approx(1.0, abs=1e-9)
    assert set(result.column_shapes) == {"x", "y", "segment", "flag", "visits", "signup"}
    assert all(value == pytest.approx(1.0) for value in result.column_shapes.values())
    # Every pair of the six scored columns is scored, not only the strongly related ones.
    assert len(result.column_pair_trends) == 15
    assert all(value == pytest.approx(1.0) for value in result.column_pair_trends.values())
    assert result.warnings == []
    assert "x~signup" in result.column_pair_trends
    assert result.excluded_columns == {"customer_id": "identifier"}
    assert result.sdmetrics_default_score == pytest.approx(1.0, abs=1e-9)
    # SDMetrics' default counts only the strongly related pairs (x~y, segment~flag, ...).
    assert 0 < result.sdmetrics_default_pairs < 15


def test_sdmetrics_default_score_ignores_weak_pairs(real: pd.DataFrame) -> None:
    shuffled = evaluate(real, shuffle_columns(make_table(2)))
    assert shuffled.sdmetrics_default_score is not None
    # Only broken strong pairs count in the default score; the all-pairs score also
    # credits the weak pairs that a shuffle leaves (correctly) unrelated.
    assert shuffled.sdmetrics_default_score < shuffled.quality_score - 0.05
    assert shuffled.to_dict()["sdmetrics_default_pairs"] == shuffled.sdmetrics_default_pairs


def test_shuffled_columns_keep_shapes_but_lose_pair_trends(
    real: pd.DataFrame, fresh: EvaluationResult
) -> None:
    shuffled = evaluate(real, shuffle_columns(make_table(2)))
    assert shuffled.column_shapes_score == pytest.approx(fresh.column_shapes_score, abs=1e-9)
    assert shuffled.column_pair_trends_score is not None
    assert fresh.column_pair_trends_score is not None
    assert shuffled.column_pair_trends_score < fresh.column_pair_trends_score - 0.1
    assert score(shuffled.column_pair_trends, "x~y") < 0.6  # correlation ~0.99 became ~0
    assert score(fresh.column_pair_trends, "x~y") > 0.98
    # All pairs count, weakly related ones too (SDMetrics' default report drops those).
    assert all(value is not None for value in fresh.column_pair_trends.values())
    assert score(fresh.column_pair_trends, "x~signup") > 0.9  # real correlation ~0, kept ~0
    assert fresh.column_pair_trends_score == pytest.approx(
        float(np.mean(list(fresh.column_pair_trends.values())))
    )
    assert shuffled.metrics["x~y"] == "CorrelationSimilarity"
    assert shuffled.metrics["x~segment"] == "ContingencySimilarity"
    worst = shuffled.worst_pairs(3)
    assert len(worst) == 3 and worst[0][2] <= worst[1][2] <= worst[2][2]


def test_different_distribution_scores_lower(real: pd.DataFrame, fresh: EvaluationResult) -> None:
    shifted = evaluate(real, make_table(3, shift=1.5))
    assert shifted.quality_score < fresh.quality_score - 0.15
    assert score(shifted.column_shapes, "x") < 0.6
    assert score(shifted.column_shapes, "segment") < 0.7  # 93 % "high" instead of 50 %
    assert score(fresh.column_shapes, "x") > 0.9


def test_copied_rows_are_caught(real: pd.DataFrame, holdout: pd.DataFrame) -> None:
    copies = real.sample(frac=1, random_state=7).reset_index(drop=True)
    copies["customer_id"] = np.arange(ROWS) + 10_000  # new keys do not hide a copied row
    without = evaluate(real, copies)
    assert without.privacy["exact_copy_rate"] == 1.0
    assert without.privacy["risk"] == "high"
    assert "no holdout" in without.privacy["note"]
    assert without.privacy["dcr_holdout_median"] is None
    with_holdout = evaluate(real, copies, holdout=holdout)
    assert with_holdout.privacy["risk"] == "high"
    assert with_holdout.privacy["dcr_synthetic_median"] == 0.0
    assert with_holdout.privacy["closer_than_holdout_p05_share"] == 1.0


def test_fresh_draws_are_low_risk(fresh: EvaluationResult) -> None:
    privacy = fresh.privacy
    assert privacy["exact_copy_rate"] == 0.0
    assert privacy["risk"] == "low", privacy["risk_reasons"]
    assert privacy["dcr_synthetic_median"] > 0
    assert privacy["dcr_synthetic_median"] == pytest.approx(privacy["dcr_holdout_median"], rel=0.3)
    assert 0.0 < privacy["closer_than_holdout_p05_share"] < 0.1


def test_partial_copies_raise_medium_then_high_risk(
    real: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    def mixed(copied: int) -> str:
        synthetic = pd.concat([real.iloc[:copied], make_table(4).iloc[copied:]])
        return str(evaluate(real, synthetic, holdout=holdout).privacy["risk"])

    assert mixed(45) == "medium"  # 3 % copies
    assert mixed(150) == "high"  # 10 % copies


def test_risk_rule_thresholds() -> None:
    base = {"exact_copy_rate": 0.0, "baseline_copy_rate": 0.0}
    assert risk_verdict(base)["risk"] == "low"
    # Copies explained by natural duplicates in the data are not a risk.
    assert risk_verdict({"exact_copy_rate": 0.4, "baseline_copy_rate": 0.395})["risk"] == "low"
    assert risk_verdict({**base, "exact_copy_rate": 0.02})["risk"] == "medium"
    assert risk_verdict({**base, "exact_copy_rate": 0.06})["risk"] == "high"
    assert risk_verdict({**base, "closer_than_holdout_p05_share": 0.05})["risk"] == "low"
    assert risk_verdict({**base, "closer_than_holdout_p05_share": 0.15})["risk"] == "medium"
    verdict = risk_verdict({**base, "closer_than_holdout_p05_share": 0.25})
    assert verdict["risk"] == "high" and len(verdict["risk_reasons"]) == 1


def test_result_is_json_with_score_in_range(fresh: EvaluationResult) -> None:
    data = json.loads(json.dumps(fresh.to_dict(), allow_nan=False))
    assert 0.0 <= data["quality_score"] <= 1.0
    assert data["privacy"]["risk"] in {"low", "medium", "high"}
    assert data["privacy"]["holdout"] is True
    assert data["rows"] == {
        "real": ROWS,
        "synthetic": ROWS,
        "holdout": ROWS,
        "real_evaluated": ROWS,
        "synthetic_evaluated": ROWS,
        "holdout_evaluated": ROWS,
    }
    assert data["column_pair_trends"]["x~y"] == pytest.approx(fresh.column_pair_trends["x~y"])
    assert "real_sample" not in data


def test_write_html_is_self_contained(fresh: EvaluationResult, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "evaluation.html"
    assert fresh.write_html(target) == target
    html = target.read_text(encoding="utf-8")
    assert html.count("<img alt=") == len(fresh.column_shapes)  # one plot per column
    # One per headline measure: all but TSTR, which needs a target.
    assert html.count('<img class="measure"') == 5
    assert "Pair trend" in html and "DCR share" in html and "not computed" in html
    assert "data:image/png;base64," in html
    for name in ("x", "y", "segment", "flag", "visits", "signup"):
        assert f'alt="{name}"' in html
    first, second, _ = fresh.worst_pairs(1)[0]
    assert f"<td>{first} ~ {second}</td>" in html  # the worst-pairs table
    assert "customer_id (identifier)" in html
    assert [p.name for p in target.parent.iterdir()] == ["evaluation.html"]  # no temp file left


def test_headline_measures_lead_the_result(
    real: pd.DataFrame, holdout: pd.DataFrame, fresh: EvaluationResult
) -> None:
    assert fresh.pair_trend is not None and fresh.pair_trend > 0.9
    assert fresh.detection is not None and fresh.detection > 0.8
    assert 0.4 < fresh.privacy["dcr_share"] < 0.6
    assert fresh.tstr is None and any("TSTR" in note for note in fresh.notes)
    shuffled = evaluate(real, shuffle_columns(make_table(2)), holdout=holdout, target="segment")
    assert shuffled.pair_trend is not None and shuffled.pair_trend < fresh.pair_trend - 0.1
    assert shuffled.detection is not None and shuffled.detection < 0.2
    assert shuffled.tstr is not None and shuffled.tstr["ratio"] < 0.8
    data = json.loads(json.dumps(shuffled.to_dict(), allow_nan=False))
    assert data["tstr"]["metric"] == "macro_f1" and "plot_data" not in data
    assert data["holdout_source"] == "given"


def test_a_holdout_can_be_set_aside_from_the_real_table(real: pd.DataFrame) -> None:
    result = evaluate(real, make_table(2), holdout_share=0.3, target="y")
    assert result.holdout_source == "split"
    assert result.rows["holdout"] == 450 and result.rows["real"] == ROWS - 450
    assert "set aside as the holdout" in result.notes[0]
    assert result.tstr is not None and result.tstr["ratio"] > 0.9
    assert result.privacy["dcr_share"] is not None
    with pytest.raises(InputError, match="target column 'nope'"):
        evaluate(real, real, target="nope")


def test_html_escapes_column_names(tmp_path: Path) -> None:
    frame = make_table(5, rows=300).rename(columns={"segment": "<b>seg</b>"})
    result = evaluate(frame, make_table(6, rows=300).rename(columns={"segment": "<b>seg</b>"}))
    html = result.write_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;seg&lt;/b&gt;" in html and "<b>seg</b>" not in html


def test_datetime_units_and_text_types_do_not_break_scores(real: pd.DataFrame) -> None:
    synthetic = real.copy()
    synthetic["signup"] = synthetic["signup"].astype("datetime64[s]")
    synthetic["visits"] = synthetic["visits"].astype("float64")
    synthetic["flag"] = synthetic["flag"].map({True: "True", False: "False"})
    result = evaluate(real, synthetic)
    assert result.column_shapes["signup"] == pytest.approx(1.0)
    assert result.quality_score == pytest.approx(1.0)
    assert result.privacy["exact_copy_rate"] == 1.0
    assert result.warnings == []


def test_time_zones_compare_in_utc(real: pd.DataFrame) -> None:
    synthetic = real.copy()
    # The same instants in another zone and unit: a plain comparison would score 0.
    synthetic["signup"] = (
        synthetic["signup"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    ).astype("datetime64[ms, America/New_York]")
    result = evaluate(real, synthetic)
    assert score(result.column_shapes, "signup") == pytest.approx(1.0)
    assert score(result.column_pair_trends, "x~signup") == pytest.approx(1.0)


def test_datetimes_read_back_from_csv_as_text_still_score_high(
    real: pd.DataFrame, tmp_path: Path
) -> None:
    seen = (real["signup"] + pd.Timedelta(hours=5)).dt.tz_localize("Europe/Paris")
    stamped = real.assign(
        signup=real["signup"] + pd.to_timedelta(np.arange(ROWS) % 86_400, unit="s"),
        seen=seen.where(np.arange(ROWS) % 20 != 0),  # 5 % nulls
    )
    make_table(2).assign(seen=stamped["seen"], signup=stamped["signup"]).to_csv(
        tmp_path / "synthetic.csv", index=False
    )
    text = pd.read_csv(tmp_path / "synthetic.csv")  # pandas leaves the dates as text
    assert text["signup"].dtype == object and text["seen"].dtype == object
    result = evaluate(stamped, text)
    assert result.kinds["seen"] == "datetime"
    assert score(result.column_shapes, "signup") == pytest.approx(1.0)
    assert score(result.column_shapes, "seen") == pytest.approx(1.0)
    assert result.quality_score > 0.9
    assert result.warnings == []
    # Text written by str() spells nulls "NaT": still nulls, not unreadable dates.
    as_str = evaluate(stamped, stamped.astype({"seen": str}))
    assert score(as_str.column_shapes, "seen") == pytest.approx(1.0)
    assert as_str.warnings == []


def test_degenerate_synthetic_columns_score_zero_instead_of_dropping_out(
    real: pd.DataFrame,
) -> None:
    synthetic = make_table(2).assign(x=np.nan, y=1.0)
    result = evaluate(real, synthetic)
    assert None not in result.column_shapes.values()
    assert None not in result.column_pair_trends.values()
    assert score(result.column_shapes, "x") == 0.0  # no values at all
    assert score(result.column_pair_trends, "x~y") == 0.0
    # A constant column has no linear trend: the pair keeps credit only where the real
    # correlation is about 0 too (y~signup), not where it is strong (y~visits).
    assert score(result.column_pair_trends, "y~signup") > 0.95
    assert score(result.column_pair_trends, "y~visits") < 0.9
    assert any(w.startswith("x~y: SDMetrics gave no score") for w in result.warnings)
    assert result.quality_score < 0.8


def test_accepts_csv_and_parquet_paths(real: pd.DataFrame, tmp_path: Path) -> None:
    real.to_parquet(tmp_path / "real.parquet", index=False)
    make_table(2).to_csv(tmp_path / "synthetic.csv", index=False)
    steps: list[tuple[int, int]] = []
    result = evaluate(
        tmp_path / "real.parquet",
        str(tmp_path / "synthetic.csv"),
        progress=lambda done, total: steps.append((done, total)),
    )
    assert score(result.column_shapes, "signup") > 0.9  # CSV text dates compared as dates
    assert result.quality_score > 0.8
    assert steps[-1] == (5, 5) and len(steps) == 5


def test_large_tables_are_subsampled(real: pd.DataFrame) -> None:
    result = evaluate(real, make_table(2), max_rows=500, seed=3)
    assert result.rows["real"] == ROWS and result.rows["real_evaluated"] == 500
    assert result.rows["synthetic_evaluated"] == 500
    assert result.quality_score > 0.8
    again = evaluate(real, make_table(2), max_rows=500, seed=3)
    assert again.to_dict() == result.to_dict()  # seeded: same subsample, same scores


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["y"]), "missing column(s) y"),
        (lambda f: f.assign(extra=1), "unexpected column(s) extra"),
    ],
)
def test_mismatched_columns_are_an_input_error(real: pd.DataFrame, change, message) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        evaluate(real, change(real))
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="holdout"):
        evaluate(real, real, holdout=change(real))


def test_unusable_inputs_are_input_errors(real: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no rows"):
        evaluate(real, real.iloc[:0])
    with pytest.raises(InputError, match="not found"):
        evaluate(real, tmp_path / "missing.csv")
    with pytest.raises(InputError, match="nothing to score"):
        evaluate(real[["customer_id"]], real[["customer_id"]])
    with pytest.raises(InputError, match="DataFrame"):
        evaluate(real, [1, 2, 3])  # type: ignore[arg-type]
