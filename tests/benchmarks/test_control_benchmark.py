"""The control benchmark end to end on the example table, and its target checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.control import main
from benchmarks.control_report import check_targets

FIDELITY = ("pair_trend", "detection", "real_rows", "synthetic_rows")


@pytest.mark.slow
@pytest.mark.sdv
def test_quick_run_measures_both_engines(tmp_path: Path) -> None:
    main(
        [
            "--quick",
            "--rows",
            "500",
            "--max-rows",
            "500",
            "--repeats",
            "1",
            "--out-dir",
            str(tmp_path),
        ]
    )
    data = json.loads((tmp_path / "control-quick.json").read_text())
    assert data["machine"]["cores"] and data["machine"]["packages"]["sdv"]
    assert data["settings"]["in_process"] and data["date"]

    table = data["conditions"]["customers"]
    assert table["status"] == "ok" and 0.005 <= table["condition"]["share"] <= 0.02
    for engine in ("chain", "sdv_gaussian_copula"):
        record = table["engines"][engine]
        assert record["status"] == "ok", record
        for key in ("fit_s", "unconditional_s", "conditional_status"):
            assert key in record, (engine, key)
        if record["conditional_status"] != "failed":
            assert set(FIDELITY) <= set(record["conditional"])
    ours = table["engines"]["chain"]
    assert ours["conditional_rows"] == 500 and ours["meeting_condition"] == 1.0

    table = data["constraints"]["customers"]
    kinds = {c["type"] for c in table["constraints"]}
    assert "sum" in kinds  # total = income + balance
    assert any(c["sdv"].startswith("no sum") for c in table["constraints"])
    for engine in ("chain", "sdv_gaussian_copula"):
        for variant in ("without", "with"):
            assert table["engines"][engine][variant]["status"] in ("ok", "failed", "not run")
    with_ = table["engines"]["chain"]["with"]
    assert with_["status"] == "ok" and with_["validity"] == 1.0
    assert set(FIDELITY) <= set(with_)

    statuses = [t["status"] for t in data["targets"]]
    assert len(statuses) == 6 and set(statuses) <= {"PASS", "FAIL", "NOT RUN"}
    page = (tmp_path / "control-quick.md").read_text()
    assert "## Targets" in page and "| customers |" in page


def _condition(ratio: float, free: float, given: float) -> dict:
    scores = {"unconditional": {"pair_trend": free, "detection": free}}
    scores["conditional"] = {"pair_trend": given, "detection": given}
    run = {"status": "ok", "conditional_status": "ok", "meeting_condition": 1.0, "ratio": ratio}
    return {"status": "ok", "engines": {"chain": {**run, **scores}}}


def _constraint(validity: float, without: float, with_: float) -> dict:
    runs = {
        "without": {"status": "ok", "pair_trend": without, "detection": without},
        "with": {"status": "ok", "validity": validity, "pair_trend": with_, "detection": with_},
    }
    return {"status": "ok", "engines": {"chain": runs}}


def test_targets_pass_and_fail_on_the_numbers() -> None:
    good = {
        "conditions": {"t": _condition(1.5, 0.90, 0.92)},
        "constraints": {"t": _constraint(1.0, 0.90, 0.895)},
    }
    assert [r["status"] for r in check_targets(good)] == ["PASS"] * 6
    bad = {
        "conditions": {"t": _condition(2.5, 0.90, 0.85)},
        "constraints": {"t": _constraint(0.99, 0.90, 0.88)},
    }
    rows = check_targets(bad)
    assert [r["status"] for r in rows] == ["FAIL"] * 6
    assert all(r["failing"] == ["t"] for r in rows)
    assert check_targets({})[0]["status"] == "NOT RUN"
