"""SDMetrics' own figures: its quality report's column shapes and column pair trends.

Computed by `sdmetrics` itself, so the numbers can be compared with published ones:
KSComplement / TVComplement per column, CorrelationSimilarity for two numeric/datetime
columns and ContingencySimilarity otherwise (numbers discretised as SDMetrics does, on
bins drawn from each compared table). SDMetrics' own report averages only pairs whose real
correlation exceeds 0.5 or association 0.3; `sdmetrics_quality` scores ALL pairs and keeps
SDMetrics' default score beside them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import numbers
from synthdata.engine._fidelity.trends import pearson
from synthdata.engine.report import pair_key
from synthdata.engine.schema import ColumnKind

SDTYPES = {
    ColumnKind.CONTINUOUS: "numerical",
    ColumnKind.INTEGER: "numerical",
    ColumnKind.DATETIME: "datetime",
    ColumnKind.CATEGORICAL: "categorical",
    ColumnKind.BOOLEAN: "boolean",
}
"""The SDMetrics sdtype of every scored kind; identifier, constant and empty are not scored."""


@dataclass
class SdmetricsQuality:
    """SDMetrics' per-column and per-pair scores, and its default report score."""

    shapes: dict[str, float | None]
    pairs: dict[str, float | None]
    metrics: dict[str, str]
    default_score: float | None
    default_pairs: int


def sdmetrics_quality(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, ColumnKind], problems: list[str]
) -> SdmetricsQuality:
    """Per-column and per-pair scores over all pairs, plus SDMetrics' default score.

    Scores SDMetrics leaves undefined get a fallback (see `_fallback`) so that a broken
    column pulls the average down instead of dropping out of it.
    """
    columns = {c: {"sdtype": SDTYPES[kind]} for c, kind in kinds.items()}
    metadata = {"tables": {"table": {"columns": columns}}}
    everything = _sdmetrics_report(real, synthetic, metadata, all_pairs=True)
    default = _sdmetrics_report(real, synthetic, metadata, all_pairs=False)
    metrics: dict[str, str] = {}
    shapes: dict[str, float | None] = {}
    for row in everything.get_details("Column Shapes").to_dict("records"):
        name = str(row["Column"])
        metrics[name] = str(row["Metric"])
        shapes[name] = _score(row, name, real[[name]], synthetic[[name]], problems)
    pairs: dict[str, float | None] = {}
    for row in everything.get_details("Column Pair Trends").to_dict("records"):
        names = [str(row["Column 1"]), str(row["Column 2"])]
        key = pair_key(*names)
        metrics[key] = str(row["Metric"])
        pairs[key] = _score(row, key, real[names], synthetic[names], problems)
    counted = default.get_details("Column Pair Trends").get("Meets Threshold?")
    default_score = float(default.get_score())
    return SdmetricsQuality(
        shapes=shapes,
        pairs=pairs,
        metrics=metrics,
        default_score=default_score if np.isfinite(default_score) else None,
        default_pairs=0 if counted is None else int(counted.astype("boolean").fillna(False).sum()),
    )


def _sdmetrics_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any], *, all_pairs: bool
) -> Any:
    # Deferred: sdmetrics pulls in plotly and friends; only evaluation needs it.
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    if all_pairs:
        # The report forwards these to its Column Pair Trends property; 0 means every pair
        # counts in the average instead of only strongly correlated/associated ones.
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"table": real}, {"table": synthetic}, metadata, verbose=False)
    return report


def _score(
    row: dict[str, Any],
    label: str,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    problems: list[str],
) -> float | None:
    score = row.get("Score")
    if score is not None and not pd.isna(score):
        return float(min(1.0, max(0.0, score)))
    error = row.get("Error") or "no comparable values"
    fallback = _fallback(real, synthetic)
    if fallback is None:
        problems.append(f"{label}: not scored ({error})")
    else:
        problems.append(f"{label}: SDMetrics gave no score ({error}); scored {fallback:.3f}")
    return fallback


def _fallback(real: pd.DataFrame, synthetic: pd.DataFrame) -> float | None:
    """A score where SDMetrics gives none because the synthetic side is degenerate.

    A synthetic column (or pair) without values reproduces nothing: 0. A constant synthetic
    column has no linear trend, so its correlation counts as 0 and the pair scores
    1 - |real correlation| / 2, as CorrelationSimilarity would. None when the real side
    itself has nothing to compare.
    """
    real_rows, synthetic_rows = real.dropna(), synthetic.dropna()
    if real_rows.empty:
        return None
    if len(synthetic_rows) < (1 if real.shape[1] == 1 else 2):
        return 0.0
    numeric = [c for c in real.columns if not pd.api.types.is_object_dtype(real[c].dtype)]
    if len(numeric) != 2:  # only CorrelationSimilarity has undefined scores to stand in for
        return None
    real_correlation = _pearson(real_rows)
    if real_correlation is None:
        return None
    synthetic_correlation = _pearson(synthetic_rows) or 0.0
    return 1.0 - abs(real_correlation - synthetic_correlation) / 2


def _pearson(pair: pd.DataFrame) -> float | None:
    return pearson(*(numbers(pair[name]) for name in pair.columns))
