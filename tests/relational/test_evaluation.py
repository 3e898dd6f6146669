"""Multi-table evaluation: integrity, cardinality shape, parent-child trends, per-table fidelity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthdata.engine.errors import InputError
from synthdata.relational import ForeignKey, Metadata, TableMeta, write_bundle
from synthdata.relational.evaluation import evaluate_tables, write_html

LINK = "orders.customer_id->customers"


def _tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """40 customers; vip customers place more and bigger orders, some customers none."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["basic", "vip"], 40, p=[0.7, 0.3])
    customers = pd.DataFrame(
        {"customer_id": np.arange(1, 41), "segment": segment, "age": rng.integers(18, 80, 40)}
    )
    counts = np.where(segment == "vip", rng.poisson(6, 40), rng.poisson(1, 40))
    owner = np.repeat(customers["customer_id"].to_numpy(), counts)
    vip = np.repeat(segment == "vip", counts)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, len(owner) + 1),
            "customer_id": owner,
            "amount": np.round(np.where(vip, 500.0, 100.0) + rng.normal(0, 10, len(owner)), 2),
            "channel": rng.choice(["web", "store"], len(owner)),
        }
    )
    return {"customers": customers, "orders": orders}


def _metadata() -> Metadata:
    return Metadata(
        {"customers": TableMeta(("customer_id",)), "orders": TableMeta(("order_id",))},
        [ForeignKey("orders", ("customer_id",), "customers", ("customer_id",))],
    )


def _scores(result: dict) -> list[float]:
    """Every score of the result that must lie in [0, 1]."""
    values = [
        *result["cardinality"].values(),
        *result["parent_child_trends"].values(),
        *result["referential_integrity"].values(),
        *result["real_referential_integrity"].values(),
    ]
    for pairs in result["parent_child_pair_scores"].values():
        values += pairs.values()
    for table in result["tables"].values():
        values += [table[k] for k in ("column_shapes", "pair_trend", "detection")]
    summary = result["summary"]
    values += [summary[k] for k in ("cardinality", "parent_child_trend", "referential_integrity")]
    return values


def test_real_tables_against_themselves_score_one_and_stay_in_bounds() -> None:
    real = _tables()
    result = evaluate_tables(real, {n: f.copy() for n, f in real.items()}, _metadata())

    assert result["referential_integrity"] == {LINK: 1.0}
    assert result["cardinality"] == {LINK: 1.0}
    assert result["parent_child_trends"][LINK] == pytest.approx(1.0)
    pairs = result["parent_child_pair_scores"][LINK]
    assert set(pairs) == {
        "orders.amount~customers.segment",
        "orders.amount~customers.age",
        "orders.channel~customers.segment",
        "orders.channel~customers.age",
    }
    assert set(result["tables"]) == {"customers", "orders"}
    orders = result["tables"]["orders"]
    assert set(orders["column_shape_scores"]) == {"amount", "channel"}  # keys are not scored
    assert orders["pair_trend"] == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for v in _scores(result))
    assert result["summary"]["rows"]["orders"] == {
        "real": len(real["orders"]),
        "synthetic": len(real["orders"]),
    }
    json.dumps(result)  # JSON-able as it is


def test_broken_foreign_keys_lower_integrity_by_exactly_their_share() -> None:
    real = _tables()
    fake = {n: f.copy() for n, f in real.items()}
    orders = fake["orders"]
    orders["customer_id"] = orders["customer_id"].astype("float64")
    orders.loc[:6, "customer_id"] = 9_999  # 7 orphans
    orders.loc[7:9, "customer_id"] = np.nan  # 3 without a customer: not references
    result = evaluate_tables(real, fake, _metadata())

    expected = (len(orders) - 10) / (len(orders) - 3)
    assert result["referential_integrity"][LINK] == pytest.approx(expected)
    assert result["summary"]["referential_integrity"] == pytest.approx(expected)
    assert result["real_referential_integrity"][LINK] == 1.0
    # An orphan has no parent attributes to pair with: the joined trends drop below 1.
    assert result["parent_child_trends"][LINK] < 1.0


def test_keys_read_back_as_float_or_text_still_join() -> None:
    real = _tables()
    fake = {n: f.copy() for n, f in real.items()}
    fake["orders"]["customer_id"] = fake["orders"]["customer_id"].astype("float64")
    fake["customers"]["customer_id"] = fake["customers"]["customer_id"].astype(str)
    result = evaluate_tables(real, fake, _metadata())
    assert result["referential_integrity"][LINK] == 1.0
    assert result["cardinality"][LINK] == 1.0


def test_shifted_children_per_parent_lower_the_cardinality_shape_exactly() -> None:
    parents = pd.DataFrame({"customer_id": range(1, 11), "segment": ["a", "b"] * 5})
    two_each = np.repeat(np.arange(1, 11), 2)  # every parent 2 children
    four_or_none = np.repeat(np.arange(1, 6), 4)  # half have 4, half none
    real = {
        "customers": parents,
        "orders": pd.DataFrame({"order_id": range(20), "customer_id": two_each, "n": 1.0}),
    }
    fake = {
        "customers": parents.copy(),
        "orders": pd.DataFrame({"order_id": range(20), "customer_id": four_or_none, "n": 1.0}),
    }
    result = evaluate_tables(real, fake, _metadata())
    # CDFs: real 0 below 2 and 1 from 2; synthetic 0.5 from 0 to 4: the largest gap is 0.5.
    assert result["cardinality"][LINK] == pytest.approx(0.5)
    assert result["referential_integrity"][LINK] == 1.0
    shape = result["children_per_parent"][LINK]
    assert shape["real"] == {"parents": 10, "mean": 2.0, "max": 2, "zero_share": 0.0}
    assert shape["synthetic"] == {"parents": 10, "mean": 2.0, "max": 4, "zero_share": 0.5}


def test_children_detached_from_their_parents_lower_the_parent_child_trend() -> None:
    real = _tables()
    fake = {n: f.copy() for n, f in real.items()}
    rng = np.random.default_rng(1)
    # Same children per parent and the same child columns, but the amounts no longer
    # follow the parent's segment.
    fake["orders"]["amount"] = rng.permutation(fake["orders"]["amount"].to_numpy())
    result = evaluate_tables(real, fake, _metadata())
    pairs = result["parent_child_pair_scores"][LINK]
    assert result["cardinality"][LINK] == 1.0
    assert result["tables"]["orders"]["column_shapes"] == pytest.approx(1.0)
    assert pairs["orders.amount~customers.segment"] < 0.9
    assert pairs["orders.channel~customers.segment"] == pytest.approx(1.0)


def test_composite_foreign_key_is_matched_on_every_column() -> None:
    parents = pd.DataFrame({"shop": ["a", "a", "b"], "day": [1, 2, 1], "staff": [3, 5, 4]})
    children = pd.DataFrame({"shop": ["a", "a", "b", "b"], "day": [1, 2, 1, 2], "sold": 1.0})
    metadata = Metadata(
        {"days": TableMeta(("shop", "day")), "sales": TableMeta()},
        [ForeignKey("sales", ("shop", "day"), "days", ("shop", "day"))],
    )
    real = {"days": parents, "sales": children.iloc[:3]}
    fake = {"days": parents, "sales": children}  # ("b", 2) is no day of the parent table
    result = evaluate_tables(real, fake, metadata)
    assert result["referential_integrity"]["sales.shop+day->days"] == pytest.approx(0.75)


def test_metadata_is_detected_and_bundles_are_read_when_not_given(tmp_path: Path) -> None:
    real = _tables()
    write_bundle(real, tmp_path / "real")
    write_bundle(real, tmp_path / "fake.zip")
    result = evaluate_tables(tmp_path / "real", tmp_path / "fake.zip")
    assert result["referential_integrity"] == {LINK: 1.0}
    assert result["cardinality"] == {LINK: 1.0}


def test_a_missing_synthetic_table_or_column_is_refused_in_one_line() -> None:
    real = _tables()
    with pytest.raises(InputError, match="no table 'orders'"):
        evaluate_tables(real, {"customers": real["customers"]}, _metadata())
    fake = {"customers": real["customers"], "orders": real["orders"].drop(columns=["amount"])}
    with pytest.raises(InputError, match="lacks column"):
        evaluate_tables(real, fake, _metadata())


def test_the_html_report_shows_every_link_and_table(tmp_path: Path) -> None:
    real = _tables()
    fake = {n: f.copy() for n, f in real.items()}
    fake["orders"].loc[:4, "customer_id"] = 9_999
    result = evaluate_tables(real, fake, _metadata())
    page = write_html(result, tmp_path / "report.html").read_text()
    assert LINK.replace(">", "&gt;") in page
    integrity = f"{100 * result['referential_integrity'][LINK]:.1f}%"
    assert integrity in page and integrity != "100.0%"
    assert "orders.amount" in page and "customers" in page


def test_a_holdout_adds_tstr_and_the_dcr_share_for_its_table() -> None:
    real = _tables()
    train = {"customers": real["customers"], "orders": real["orders"].iloc[::2]}
    holdout = {"orders": real["orders"].iloc[1::2]}
    fake = {n: f.copy() for n, f in train.items()}
    result = evaluate_tables(
        train, fake, _metadata(), holdout=holdout, targets={"orders": "amount"}
    )
    orders, customers = result["tables"]["orders"], result["tables"]["customers"]
    assert orders["tstr"]["metric"] and orders["tstr"]["tstr"] is not None
    assert 0.0 <= orders["dcr_share"] <= 1.0
    assert customers["tstr"] is None and customers["dcr_share"] is None


def test_cardinality_shape_agrees_with_sdmetrics() -> None:
    from sdmetrics.multi_table import CardinalityShapeSimilarity

    rng = np.random.default_rng(3)
    parents = pd.DataFrame({"customer_id": range(1, 201), "segment": "a"})

    def orders(rate: float) -> pd.DataFrame:
        owner = np.repeat(parents["customer_id"].to_numpy(), rng.poisson(rate, 200))
        return pd.DataFrame({"order_id": range(len(owner)), "customer_id": owner, "n": 1.0})

    real = {"customers": parents, "orders": orders(3.0)}
    fake = {"customers": parents, "orders": orders(2.0)}
    ids = {"sdtype": "id"}
    sdmetrics_metadata = {
        "tables": {
            "customers": {
                "primary_key": "customer_id",
                "columns": {"customer_id": ids, "segment": {"sdtype": "categorical"}},
            },
            "orders": {
                "primary_key": "order_id",
                "columns": {"order_id": ids, "customer_id": ids, "n": {"sdtype": "numerical"}},
            },
        },
        "relationships": [
            {
                "parent_table_name": "customers",
                "parent_primary_key": "customer_id",
                "child_table_name": "orders",
                "child_foreign_key": "customer_id",
            }
        ],
    }
    theirs = CardinalityShapeSimilarity.compute(real, fake, sdmetrics_metadata)
    ours = evaluate_tables(real, fake, _metadata())["cardinality"][LINK]
    assert ours == pytest.approx(theirs) and ours < 0.9
