"""The multi-table benchmark end to end on its small datasets, and its target checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.multitable import main
from benchmarks.multitable_data import make_shop
from benchmarks.multitable_report import check_targets


@pytest.mark.slow
def test_quick_run_scores_ours_and_the_baseline_on_linked_tables(tmp_path: Path) -> None:
    main(["--quick", "--engines", "ours,independent", "--out-dir", str(tmp_path)])
    data = json.loads((tmp_path / "multitable-quick.json").read_text())
    assert data["machine"]["cores"] and data["load_average_end"] is not None
    ratdat = data["datasets"]["ratdat"]
    assert ratdat["rows"] == {"surveys": 35549, "plots": 24, "species": 54}
    for engine in ("ours", "independent"):
        record = ratdat["engines"][engine]
        assert record["status"] == "ok", record
        assert record["seconds"] >= 0 and record["peak_rss_bytes"] > 0
        scores = record["scores"]
        assert set(scores["referential_integrity"]) == {
            "surveys.plot_id->plots",
            "surveys.species_id->species",
        }
        assert "rownames" not in json.dumps(scores["tables"]["surveys"]["column_shape_scores"])
    ours, floor = (ratdat["engines"][e]["scores"]["summary"] for e in ("ours", "independent"))
    # Keys drawn uniformly lose how many surveys each plot and species has.
    assert ours["cardinality"] > floor["cardinality"]
    page = (tmp_path / "multitable-quick.md").read_text()
    assert "## Targets" in page and "## ratdat" in page and "## sdmetrics_demo" in page


def _result(summary: dict[str, float], seconds: float, rss: int = 2**20) -> dict:
    return {
        "status": "ok",
        "seconds": seconds,
        "peak_rss_bytes": rss,
        "scores": {"summary": summary},
    }


def test_targets_compare_ours_with_hma_and_the_fixed_thresholds() -> None:
    good = {
        "referential_integrity": 1.0,
        "cardinality": 0.97,
        "pair_trend": 0.9,
        "detection": 0.8,
        "parent_child_trend": 0.9,
    }
    worse = {**good, "pair_trend": 0.8, "parent_child_trend": 0.95}
    results = {
        "datasets": {
            "a": {"engines": {"ours": _result(good, 1.0), "sdv_hma": _result(worse, 50.0)}},
            "shop": {"engines": {"ours": _result(good, 130.0)}},
        }
    }
    verdicts = {row["target"]: row["status"] for row in check_targets(results)}
    assert verdicts["referential integrity 100 %"] == "PASS"
    assert verdicts["cardinality shape >= 0.95"] == "PASS"
    assert verdicts["per-table fidelity (pair trend, detection) >= HMA"] == "PASS"
    assert verdicts["parent-child trends >= HMA"] == "FAIL"  # 0.9 < 0.95
    assert verdicts["fit + sample >= 10x faster than HMA"] == "PASS"  # 50x
    assert verdicts["5 tables, 1M-row child: <= 120 s and <= 2 GiB"] == "FAIL"  # 130 s


def test_the_generated_schema_has_its_keys_and_planted_links() -> None:
    tables, metadata = make_shop(5_000, seed=0)
    metadata.validate(tables)
    orders, customers = tables["orders"], tables["customers"]
    assert len(orders) == 5_000 and len(tables) == 5
    for fk in metadata.foreign_keys:
        child = tables[fk.child][fk.columns[0]]
        assert child.isin(tables[fk.parent][fk.parent_columns[0]]).all(), fk.label
    per_customer = orders.groupby("customer_id").size()
    segment = customers.set_index("customer_id")["segment"]
    counts = per_customer.reindex(customers["customer_id"], fill_value=0)
    by_segment = counts.groupby(segment.to_numpy()).mean()
    assert by_segment["vip"] > 3 * by_segment["budget"]  # the segment sets the orders
    assert (counts == 0).any()  # and some customers place none
