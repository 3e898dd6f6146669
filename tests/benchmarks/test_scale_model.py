"""The scale benchmark's model (benchmarks/scale_model.py) on fixed inputs: the terms it
adds up, the least-squares contention line, and the first bottleneck it names."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import scale_model


def _row(claim: float, complete: float, rate: float) -> dict[str, Any]:
    return {
        "claim": {"median": claim},
        "renew": {"median": claim},
        "complete": {"median": complete},
        "transitions_per_s": rate,
    }


def _measured(slope_ms: float) -> dict[str, Any]:
    """Inputs where claim+complete take 4 ms + slope_ms per concurrent client."""
    contention = {
        k: _row(0.002 + slope_ms * k / 2e3, 0.002 + slope_ms * k / 2e3, 200.0) for k in (1, 2, 4, 8)
    }
    return {
        "chunk_rows": 1_000_000,
        "fit_rows": 1_000_000,
        "heartbeat_s": 5.0,
        "engine": {
            "sample_rows": 1_000_000,
            "rows_per_cpu_s": 200_000.0,
            "fit_cpu_s": 8.0,
            "fit_rows_measured": 1_000_000,
        },
        "queue": {"redis": {"median": 0.0002}},
        "db": {
            "contention": contention,
            "insert_chunks_s": 0.4,
            "insert_chunks_n": 1_000,
            "finalize_read": {"median": 0.01},
            "finalize_read_chunks": 1_000,
        },
        "stores": {"s3": {"bytes": 30e6, "put_mb_s": 100.0, "head": {"median": 0.0005}}},
        "manifest": {"s3": {"median": 0.015, "parts": 1_000}},
    }


def test_terms_add_up_from_the_measurements() -> None:
    t = scale_model.inputs(_measured(slope_ms=0.0), rows=1_000_000_000)
    assert t["chunks"] == 1_000
    assert t["sample_s"] == pytest.approx(5.0)
    assert t["put_s"] == pytest.approx(0.3)
    assert t["chunk_s"] == pytest.approx(5.0 + 0.0002 + 0.004 + 0.3)
    assert t["prepare_s"] == pytest.approx(8.0 + 0.4 + 1_000 * 0.0002)
    assert t["finalize_s"] == pytest.approx(0.01 + 0.5 + 0.015)
    one = scale_model.predict(t, 1)
    assert one["total_s"] == pytest.approx(t["prepare_s"] + 1_000 * t["chunk_s"] + t["finalize_s"])
    assert scale_model.efficiency(t, 1) == pytest.approx(1.0)


def test_contention_slope_is_fitted_and_charged_per_round() -> None:
    t = scale_model.inputs(_measured(slope_ms=10.0), rows=1_000_000_000)
    assert t["contention_line"]["slope_s_per_client"] == pytest.approx(0.010)
    p = scale_model.predict(t, 16)
    assert p["contention_s"] == pytest.approx(63 * 0.010 * 15)  # ceil(1000/16) rounds


def test_efficiency_falls_with_workers_and_names_the_bottleneck() -> None:
    flat = scale_model.inputs(_measured(slope_ms=0.0), rows=1_000_000_000)
    steep = scale_model.inputs(_measured(slope_ms=20.0), rows=1_000_000_000)
    assert scale_model.efficiency(flat, 16) > scale_model.efficiency(steep, 16)
    assert scale_model.efficiency(steep, 64) < scale_model.efficiency(steep, 16)
    found = scale_model.first_bottleneck(steep, whole_rounds=False)
    assert found["term"] == "contention"
    assert scale_model.efficiency(steep, found["workers"], whole_rounds=False) < 0.9
    assert scale_model.efficiency(steep, found["workers"] - 1, whole_rounds=False) >= 0.9
    assert scale_model.first_bottleneck(flat, whole_rounds=False)["term"] == "prepare"
