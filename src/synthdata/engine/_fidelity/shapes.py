"""Column shapes: how closely each synthetic column's distribution follows the real one.

Numbers and dates get the KS complement, categories and booleans the TV complement, as in
SDMetrics' quality report, except that nulls count: SDMetrics drops them before comparing,
so a generator that forgets a column's 30 % nulls would still score 1 there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, numbers
from synthdata.engine.schema import ColumnKind

_NULL = "\x00null"


def column_shapes(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, ColumnKind]
) -> dict[str, float]:
    """The shape score of every scored column, in [0, 1], 1 for identical distributions."""
    scores = {}
    for name, kind in kinds.items():
        if kind in NUMERIC_KINDS:
            scores[name] = ks_complement(numbers(real[name]), numbers(synthetic[name]))
        else:
            scores[name] = tv_complement(real[name], synthetic[name])
    return scores


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - the Kolmogorov-Smirnov distance, with nulls (NaN) as a point mass below all values.

    Each side's CDF at t is its null share plus its non-null share times the empirical CDF
    of its values at t; the distance is the largest gap between the two CDFs, the gap in
    null shares included. With no nulls on either side this is the plain KS statistic.
    """
    if real.size == 0 or synthetic.size == 0:
        return 0.0
    kept = [real[~np.isnan(real)], synthetic[~np.isnan(synthetic)]]
    nulls = [1.0 - kept[0].size / real.size, 1.0 - kept[1].size / synthetic.size]
    gap = abs(nulls[0] - nulls[1])  # the CDFs just above the null mass, below every value
    grid = np.unique(np.concatenate(kept))
    if grid.size:
        cdfs = [
            null
            + (1.0 - null)
            * np.searchsorted(np.sort(values), grid, side="right")
            / max(values.size, 1)
            for null, values in zip(nulls, kept, strict=True)
        ]
        gap = max(gap, float(np.max(np.abs(cdfs[0] - cdfs[1]))))
    return 1.0 - gap


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - the total variation distance between the two label frequencies, nulls a label."""
    if len(real) == 0 or len(synthetic) == 0:
        return 0.0
    left = real.fillna(_NULL).astype(str).value_counts(normalize=True)
    right = synthetic.fillna(_NULL).astype(str).value_counts(normalize=True)
    both = left.index.union(right.index)
    gaps = left.reindex(both, fill_value=0.0) - right.reindex(both, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(gaps.to_numpy()).sum())
