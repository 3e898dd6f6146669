"""Fidelity of a synthetic table, measured as the field's strongest papers measure it.

`score_fidelity` scores a synthetic table against the real rows it was learnt from (and,
when given, real rows it never saw: the holdout) with:

- column shapes: KS complement (numbers, dates) or TV complement (categories), nulls
  counted, averaged over the scored columns;
- pair trend: for EVERY pair of scored columns, 1 - the total variation distance between
  the real and synthetic 2-D tables of shares, on bins fixed once from the real training
  rows (`_fidelity.trends`); correlation similarity for numeric pairs beside it, and, on
  request, SDMetrics' own figure for the same pairs;
- detection: 1 - (2 * max(AUC, 0.5) - 1) of a cross-validated gradient-boosting
  classifier telling real from synthetic rows (`_fidelity.detection`);
- alpha-precision and beta-recall on k-NN balls (`_fidelity.support`);
- TSTR: a model trained on the synthetic rows, tested on the holdout, against the same
  model trained on the real rows (`_fidelity.utility`);
- DCR share: synthetic rows nearer to the training rows than to the holdout (0.5 ideal),
  and exact copies of training rows beside the holdout's own rate (`privacy`).

Every table is first brought to the real table's column forms (`canonical_frame`), so a
dtype difference never counts as a difference in the data. The functions are pure: pandas,
NumPy and scikit-learn, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine import privacy
from synthdata.engine._fidelity.bins import ColumnBins, fixed_bins
from synthdata.engine._fidelity.canonical import canonical_frame, scored_kinds, subsample
from synthdata.engine._fidelity.detection import detection
from synthdata.engine._fidelity.sdmetrics_report import sdmetrics_quality
from synthdata.engine._fidelity.shapes import column_shapes, ks_complement, tv_complement
from synthdata.engine._fidelity.support import alpha_precision_beta_recall
from synthdata.engine._fidelity.trends import correlation_similarity, pair_trends
from synthdata.engine._fidelity.utility import train_test_score, tstr
from synthdata.engine.errors import InputError
from synthdata.engine.report import json_safe
from synthdata.engine.schema import ColumnKind, TableSchema

__all__ = [
    "MEASURES",
    "ColumnBins",
    "FidelityScores",
    "alpha_precision_beta_recall",
    "canonical_frame",
    "column_shapes",
    "correlation_similarity",
    "detection",
    "fixed_bins",
    "ks_complement",
    "pair_trends",
    "score_canonical",
    "score_fidelity",
    "scored_kinds",
    "sdmetrics_quality",
    "train_test_score",
    "tstr",
    "tv_complement",
]

MEASURES = ("shapes", "trends", "sdmetrics", "detection", "support", "tstr", "dcr", "copies")
"""What `score_fidelity` can compute; "sdmetrics" (SDMetrics' own report) is the slowest."""


@dataclass
class FidelityScores:
    """The scores of one synthetic table; None where a measure was not computed."""

    column_shapes: float | None = None
    pair_trend: float | None = None
    correlation_similarity: float | None = None
    sdmetrics_pair_trend: float | None = None
    sdmetrics_score: float | None = None
    detection: float | None = None
    detection_auc: float | None = None
    alpha_precision: float | None = None
    beta_recall: float | None = None
    tstr: dict[str, Any] | None = None
    dcr_share: float | None = None
    exact_copy_rate: float | None = None
    holdout_copy_rate: float | None = None
    column_shape_scores: dict[str, float] = field(default_factory=dict)
    pair_trend_scores: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Arrays behind the report's plots (detection probabilities, DCR distances); not JSON.
    plot_data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field but the plot data."""
        return dict(json_safe({f.name: getattr(self, f.name) for f in fields(self) if f.compare}))


def score_fidelity(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    measures: Collection[str] = MEASURES,
    max_rows: int = 10_000,
    folds: int = 5,
    trtr: float | None = None,
    seed: int = 0,
) -> FidelityScores:
    """Score `synthetic` against the real `train` rows (and the `holdout`, if any).

    `schema` is the real table's (its scored columns are compared; identifiers, constants
    and empty columns are not). Every table is first brought to the real column forms
    (`canonical_frame`); then see `score_canonical` for what is computed on which rows.
    """
    kinds = scored_kinds(schema)
    if not kinds:
        raise InputError("nothing to score: every column is an identifier, a constant or empty")
    names = list(kinds)
    notes: list[str] = []
    real_c = canonical_frame(train[names], schema, notes, "real")
    fake_c = canonical_frame(synthetic[names], schema, notes, "synthetic")
    hold_c = None
    if holdout is not None:
        hold_c = canonical_frame(holdout[names], schema, notes, "holdout")
    scores = score_canonical(
        real_c,
        fake_c,
        kinds,
        holdout=hold_c,
        target=target,
        measures=measures,
        max_rows=max_rows,
        folds=folds,
        trtr=trtr,
        seed=seed,
    )
    scores.notes[:0] = notes
    return scores


def score_canonical(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    measures: Collection[str] = MEASURES,
    max_rows: int = 10_000,
    folds: int = 5,
    trtr: float | None = None,
    seed: int = 0,
) -> FidelityScores:
    """`score_fidelity` on tables already in canonical form, scored columns only.

    Tables are subsampled, seeded, to at most `max_rows` rows; with a holdout, the
    synthetic sample for shapes, trends, detection and support is cut to the holdout's
    size, so that the holdout scored the same way is a like-for-like baseline (both face
    the same sampling noise). Bins come from all the training rows; exact copies are
    looked up in the whole tables. TSTR needs a `target` and a holdout, DCR share a
    holdout; what is not computed is None and `notes` says why. `trtr` skips refitting
    the real-data model.
    """
    unknown = set(measures) - set(MEASURES)
    if unknown:
        raise InputError(f"unknown measure(s): {', '.join(sorted(unknown))}")
    compare = min(max_rows, len(holdout)) if holdout is not None else max_rows
    real_s = subsample(train, max_rows, seed)
    fake_s = subsample(synthetic, compare, seed + 1)
    out = FidelityScores(
        rows={
            "train": len(train),
            "synthetic": len(synthetic),
            "train_compared": len(real_s),
            "synthetic_compared": len(fake_s),
        }
    )
    if holdout is not None:
        out.rows["holdout"] = len(holdout)
    notes = out.notes

    if "shapes" in measures:
        out.column_shape_scores = column_shapes(real_s, fake_s, kinds)
        out.column_shapes = _mean(out.column_shape_scores.values())
    if "trends" in measures:
        out.pair_trend_scores = pair_trends(real_s, fake_s, kinds, fixed_bins(train, kinds))
        out.pair_trend = _mean(out.pair_trend_scores.values())
        out.correlation_similarity = _mean(correlation_similarity(real_s, fake_s, kinds).values())
        if len(kinds) < 2:
            notes.append("pair trend: fewer than two scored columns")
    if "sdmetrics" in measures:
        figures = sdmetrics_quality(real_s, fake_s, kinds, notes)
        out.sdmetrics_pair_trend = _mean(figures.pairs.values())
        out.sdmetrics_score = figures.default_score
    if "detection" in measures:
        found = detection(real_s, fake_s, kinds, folds=folds, max_rows=max_rows, seed=seed)
        out.detection, out.detection_auc = found["score"], found["auc"]
        if "labels" in found:
            out.plot_data["detection"] = found
    if "support" in measures:
        support = alpha_precision_beta_recall(real_s, fake_s, kinds, seed=seed)
        out.alpha_precision, out.beta_recall = support["alpha_precision"], support["beta_recall"]
    if "copies" in measures:
        copies = privacy.exact_copies(train, synthetic, holdout)
        out.exact_copy_rate = copies["exact_copy_rate"]
        out.holdout_copy_rate = copies["baseline_copy_rate"] if holdout is not None else None
    if "dcr" in measures:
        if holdout is None:
            notes.append("DCR share: needs a holdout (real rows not used for training)")
        else:
            shares = privacy.dcr_share(
                train, synthetic, holdout, kinds, max_rows=max_rows, seed=seed
            )
            out.dcr_share = shares["dcr_share"]
            out.plot_data["dcr"] = shares["distances"]
    if "tstr" in measures:
        if target is None:
            notes.append("TSTR: no target column named")
        elif holdout is None:
            notes.append("TSTR: needs a holdout to test on")
        else:
            out.tstr = tstr(train, synthetic, holdout, kinds, target, trtr=trtr, seed=seed)
    return out


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None
