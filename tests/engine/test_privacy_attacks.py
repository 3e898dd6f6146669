"""Attack-based privacy: anonymeter's risks and membership inference separate a generator
that copies its training rows from one that draws fresh people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import synthdata
from synthdata.engine._fidelity.canonical import canonical_frame, scored_kinds
from synthdata.engine._privacy.report import SPLIT_ATTACK_NOTE, attack_report
from synthdata.engine.schema import infer_schema
from tests.fixtures.privacy_tables import population

ATTACKS = ("singling_out_univariate", "singling_out_multivariate", "linkability", "inference")


def _attacks(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> Any:
    schema = infer_schema(train)
    kinds = scored_kinds(schema)
    frames = [canonical_frame(f[list(kinds)], schema, [], "t") for f in (train, synthetic, holdout)]
    return attack_report(*frames, kinds, holdout_source="given", n_attacks=200)


def _check_bounds(report: dict[str, Any]) -> None:
    for name in ATTACKS:
        attack = report["anonymeter"][name]
        low, high = attack["ci"]
        assert 0.0 <= low <= attack["risk"] <= high <= 1.0, name
        for rate in ("attack_rate", "control_rate", "baseline_rate"):
            assert 0.0 <= attack[rate] <= 1.0
    assert 0.0 <= report["membership_auc"] <= 1.0


@pytest.fixture(scope="module")
def people() -> tuple[pd.DataFrame, pd.DataFrame]:
    return population(1_400, seed=1), population(600, seed=2)


def test_copying_generator_is_caught_and_fresh_draws_are_not(
    people: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, holdout = people
    copied = _attacks(train, train.sample(frac=1.0, random_state=0), holdout)
    fresh = _attacks(train, population(1_400, seed=3), holdout)
    _check_bounds(copied)
    _check_bounds(fresh)
    assert copied["membership_auc"] > 0.9
    assert fresh["membership_auc"] < 0.62
    risk = {
        name: (copied["anonymeter"][name]["risk"], fresh["anonymeter"][name]["risk"])
        for name in ATTACKS
    }
    assert risk["singling_out_univariate"][0] > 0.5 > risk["singling_out_univariate"][1]
    assert risk["linkability"][0] > 0.5 > risk["linkability"][1]
    assert risk["inference"][0] > risk["inference"][1] + 0.2
    assert copied["anonymeter"]["inference"]["secret"] in train.columns


def test_evaluate_reports_attacks_with_bounds(
    people: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    train, holdout = people
    fake = synthdata.fit(train).sample(len(train), seed=0)
    result = synthdata.evaluate(
        train, fake, holdout=holdout, attacks=True, n_attacks=100, max_rows=1_000, folds=2
    )
    privacy = result.privacy
    _check_bounds(privacy["attacks"])
    assert privacy["attacks"]["n_attacks"] == 100
    assert 0.0 <= privacy["dcr_share"] <= 1.0
    assert privacy["exact_copy_rate"] <= privacy["baseline_copy_rate"] + 0.01
    assert privacy["attacks"]["membership_auc"] < 0.7
    json_form = result.to_dict()["privacy"]["attacks"]
    assert set(ATTACKS) <= set(json_form["anonymeter"])
    html = result.write_html(tmp_path / "report.html").read_text()
    assert "Membership inference AUC" in html and "linkability" in html


def test_a_holdout_split_from_the_real_table_is_flagged(
    people: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = people
    result = synthdata.evaluate(
        train, train, holdout_share=0.3, attacks=True, n_attacks=50, max_rows=500, folds=2
    )
    assert result.privacy["attacks"]["notes"][0] == SPLIT_ATTACK_NOTE
