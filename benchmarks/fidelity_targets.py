"""The fidelity targets of the default engine, each checked over every table that ran.

| target | threshold |
| --- | --- |
| detection | mean >= 0.65 and no table below 0.40 |
| pair trend (fixed bins) | mean >= 0.98 and at least the holdout's on every table |
| TSTR | >= 0.95 x TRTR on every table |
| privacy | DCR share <= 0.55 and exact copies <= the holdout's rate on every table |
| against SDV | ahead of SDV GaussianCopula and CTGAN on detection and trend, every table |
| speed | fit + sample <= 60 s on every table |
"""

from __future__ import annotations

from typing import Any

import numpy as np

SDV_PEERS = ("sdv_gaussian_copula", "sdv_ctgan")
DETECTION_MEAN, DETECTION_MIN = 0.65, 0.40
TREND_MEAN = 0.98
TSTR_RATIO = 0.95
DCR_SHARE = 0.55
SECONDS = 60.0


def engine_rows(results: dict[str, Any], engine: str) -> dict[str, dict[str, Any]]:
    """The successful records of `engine`, by table name."""
    rows = {}
    for name, table in results["tables"].items():
        record = table["engines"].get(engine, {})
        if record.get("status") == "ok":
            rows[name] = record
    return rows


def check_targets(results: dict[str, Any], default: str) -> list[dict[str, Any]]:
    """One row per target: what was measured for `default` and PASS / FAIL / NOT RUN."""
    ours = engine_rows(results, default)
    holdout = engine_rows(results, "holdout")
    return [
        _detection(ours),
        _trend(ours, holdout),
        _tstr(ours),
        _privacy(ours),
        _peers(results, ours),
        _speed(ours),
    ]


def _row(target: str, measured: str, ok: bool | None) -> dict[str, Any]:
    status = "NOT RUN" if ok is None else ("PASS" if ok else "FAIL")
    return {"target": target, "measured": measured, "status": status}


def _values(rows: dict[str, dict[str, Any]], key: str) -> dict[str, float]:
    return {name: r[key] for name, r in rows.items() if r.get(key) is not None}


def _lowest(values: dict[str, float]) -> str:
    name = min(values, key=lambda k: values[k])
    return f"{values[name]:.3f} ({name})"


def _detection(ours: dict[str, dict[str, Any]]) -> dict[str, Any]:
    target = f"detection: mean >= {DETECTION_MEAN} and no table below {DETECTION_MIN}"
    values = _values(ours, "detection")
    if not values:
        return _row(target, "-", None)
    mean = float(np.mean(list(values.values())))
    ok = mean >= DETECTION_MEAN and min(values.values()) >= DETECTION_MIN
    return _row(target, f"mean {mean:.3f}, lowest {_lowest(values)}", ok)


def _trend(ours: dict[str, Any], holdout: dict[str, Any]) -> dict[str, Any]:
    target = f"pair trend (fixed bins): mean >= {TREND_MEAN} and >= the holdout's on every table"
    values = _values(ours, "pair_trend")
    if not values:
        return _row(target, "-", None)
    mean = float(np.mean(list(values.values())))
    baseline = _values(holdout, "pair_trend")
    below = [n for n, v in values.items() if n in baseline and v < baseline[n]]
    measured = f"mean {mean:.3f}, lowest {_lowest(values)}; below the holdout on {len(below)}"
    measured += f" of {len(values)} tables" + (f" ({', '.join(below)})" if below else "")
    return _row(target, measured, mean >= TREND_MEAN and not below)


def _tstr(ours: dict[str, Any]) -> dict[str, Any]:
    target = f"TSTR >= {TSTR_RATIO} x TRTR on every table"
    values = _values(ours, "tstr_ratio")
    if not values:
        return _row(target, "-", None)
    missed = [n for n, v in values.items() if v < TSTR_RATIO]
    measured = f"lowest ratio {_lowest(values)}; below on {len(missed)} of {len(values)}"
    return _row(target, measured, not missed)


def _privacy(ours: dict[str, Any]) -> dict[str, Any]:
    target = f"DCR share <= {DCR_SHARE} and exact copies <= the holdout's rate on every table"
    shares = _values(ours, "dcr_share")
    if not shares:
        return _row(target, "-", None)
    copies = [
        n
        for n, r in ours.items()
        if r.get("exact_copy_rate") is not None
        and r["exact_copy_rate"] > (r.get("holdout_copy_rate") or 0.0)
    ]
    high = [n for n, v in shares.items() if v > DCR_SHARE]
    measured = (
        f"highest DCR share {max(shares.values()):.3f}; over {DCR_SHARE} on {len(high)}"
        f" tables{_names(high)}; more copies than the holdout on {len(copies)}{_names(copies)}"
    )
    return _row(target, measured, not high and not copies)


def _peers(results: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    target = "ahead of SDV GaussianCopula and CTGAN on detection and pair trend, every table"
    compared, behind = 0, []
    for peer in SDV_PEERS:
        theirs = engine_rows(results, peer)
        for name, record in ours.items():
            if name not in theirs:
                continue
            compared += 1
            for key in ("detection", "pair_trend"):
                mine, other = record.get(key), theirs[name].get(key)
                if mine is not None and other is not None and mine <= other:
                    behind.append(f"{name} {key} vs {peer}")
    if not compared:
        return _row(target, "no table with both engines", None)
    measured = f"{compared} table-peer comparisons; behind or level on {len(behind)}"
    return _row(target, measured + _names(behind), not behind)


def _speed(ours: dict[str, Any]) -> dict[str, Any]:
    target = f"fit + sample <= {SECONDS:.0f} s on every table"
    values = _values(ours, "seconds")
    if not values:
        return _row(target, "-", None)
    name = max(values, key=lambda k: values[k])
    return _row(target, f"slowest {values[name]:.1f} s ({name})", values[name] <= SECONDS)


def _names(names: list[str]) -> str:
    return f" ({', '.join(names)})" if names else ""
