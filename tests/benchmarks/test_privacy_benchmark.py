"""The privacy benchmark's page: its targets table from a small made-up result."""

from __future__ import annotations

from typing import Any

import pandas as pd
from benchmarks.privacy import pii_leaks
from benchmarks.privacy_report import check_targets, render_markdown

CI = {"risk": 0.01, "ci": [0.0, 0.03]}


def _generator(**overrides: Any) -> dict[str, Any]:
    measured = {
        "status": "ok",
        "fit_s": 0.1,
        "sample_s": 0.1,
        "wall_s": 3.0,
        "dcr_share": 0.51,
        "exact_copy_rate": 0.0,
        "holdout_copy_rate": 0.0,
        "rare_values": 27,
        "rare_emitted": 0,
        "rare_rows_emitted": 0,
        "pii_values": None,
        "pii_emitted": None,
        "risks": {
            "singling_out_univariate": CI,
            "singling_out_multivariate": CI,
            "linkability": CI,
            "inference": CI,
        },
        "membership_auc": 0.52,
        "attack_notes": [],
    }
    return {**measured, **overrides}


def _results() -> dict[str, Any]:
    record = {"source": "made up", "train_rows": 700, "holdout_rows": 300, "columns": 4}
    leaky = _generator(
        dcr_share=0.81,
        exact_copy_rate=0.05,
        rare_emitted=3,
        rare_rows_emitted=9,
        pii_values=40,
        pii_emitted=2,
        risks={"linkability": CI, "inference": CI, "singling_out_univariate": CI},
    )
    return {
        "date": "2026-12-08T04:00:00+0000",
        "machine": {
            "cpu": "test cpu",
            "cores": 2,
            "ram_bytes": 2**30,
            "os": "Linux",
            "python": "3.11",
            "load_average": [1.0, 1.0, 1.0],
            "packages": {"numpy": "2"},
        },
        "settings": {
            "command": "python -m benchmarks.privacy",
            "generators": ["chain", "holdout"],
            "default": "chain",
            "n_attacks": 200,
            "attack_rows": 2000,
            "min_value_count": 5,
            "split_seed": 0,
        },
        "tables": {
            "good": {**record, "generators": {"chain": _generator(), "holdout": _generator()}},
            "leaky": {**record, "generators": {"chain": leaky, "holdout": _generator()}},
        },
    }


def test_targets_table_passes_the_good_table_and_fails_each_leak() -> None:
    results = _results()
    rows = {(r["table"], r["target"]): r["status"] for r in check_targets(results)}
    assert {s for (t, _), s in rows.items() if t == "good"} == {"PASS", "n/a"}
    assert rows[("good", "0 real PII values written")] == "n/a"
    leaky = {target: s for (t, target), s in rows.items() if t == "leaky"}
    assert set(leaky.values()) == {"FAIL"}, leaky

    page = render_markdown(results)
    header = (
        "| table | DCR share <= 0.55 | exact copies <= the holdout's rate |"
        " 0 rare values (< k) written | 0 real PII values written |"
        " anonymeter risks with 95 % CIs |"
    )
    assert header in page
    assert (
        "| good | PASS 0.510 (holdout 0.510) | PASS 0.00% (holdout 0.00%) | PASS 0 of 27 |" in page
    )
    assert "| leaky | FAIL 0.810 (holdout 0.510) |" in page and "FAIL 2 of 40" in page
    assert "FAIL not measured: singling out, 3 columns" in page
    assert "4 of 9 checks pass." in page  # n/a (no PII columns) is not judged
    assert "Machine: test cpu, 2 cores" in page
    assert "0.010 [0.000, 0.030]" in page  # the risks' intervals are on the page


def test_pii_leaks_counts_whole_cells_and_values_inside_text() -> None:
    train = pd.DataFrame(
        {
            "email": [f"person{i}@example.org" for i in range(10)],
            "notes": [f"wrote from person{i}@example.org" for i in range(10)],
        }
    )
    fake = pd.DataFrame(
        {
            "email": ["person3@example.org"] + [f"fake{i}@example.net" for i in range(9)],
            "notes": ["a note naming person7@example.org"] + ["nothing here"] * 9,
        }
    )
    leaks = pii_leaks(train, fake, ["email", "notes"])
    assert leaks["pii_by_column"] == {"email": 1, "notes": 0, "(inside free text)": 1}
    assert leaks["pii_emitted"] == 2 and leaks["pii_values"] == 20
    assert pii_leaks(train, fake, [])["pii_emitted"] is None
