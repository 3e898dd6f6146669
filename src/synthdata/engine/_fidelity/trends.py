"""Column-pair trends over every pair of scored columns, on bins fixed from the real rows.

For each pair the real and the synthetic rows are counted in the same 2-D grid (the
product of the two columns' fixed bins, see `bins`), and the score is 1 minus the total
variation distance between the two tables of shares: SDMetrics' ContingencySimilarity,
but with shared bins and for numeric pairs too. Correlation similarity (SDMetrics'
CorrelationSimilarity: 1 - |real r - synthetic r| / 2) is given beside it for pairs of
numbers, as a second view that only sees linear trends.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.bins import ColumnBins, bin_codes, fixed_bins
from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, numbers
from synthdata.engine.report import pair_key
from synthdata.engine.schema import ColumnKind


def pair_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    bins: dict[str, ColumnBins] | None = None,
) -> dict[str, float]:
    """The fixed-bin contingency score of every pair of scored columns, keyed by `pair_key`.

    `bins` default to those of `fixed_bins(real, kinds)`; pass the training rows' bins when
    `real` is a subsample, so that every table is scored on one grid.
    """
    bins = bins if bins is not None else fixed_bins(real, kinds)
    names = [name for name in kinds if name in bins]
    real_codes, synth_codes = bin_codes(real, bins), bin_codes(synthetic, bins)
    scores = {}
    for first, second in combinations(names, 2):
        width = bins[second].size
        cells = bins[first].size * width
        shares = [
            np.bincount(codes[first] * width + codes[second], minlength=cells) / len(frame)
            for codes, frame in ((real_codes, real), (synth_codes, synthetic))
        ]
        distance = 0.5 * float(np.abs(shares[0] - shares[1]).sum())
        scores[pair_key(first, second)] = 1.0 - distance
    return scores


def correlation_similarity(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, ColumnKind]
) -> dict[str, float]:
    """1 - |real r - synthetic r| / 2 for each pair of numeric or date columns.

    Pearson's r over the rows where both values are present. A pair whose real r is
    undefined (a constant column) is left out; a synthetic r that is undefined counts as 0
    (no linear trend reproduced).
    """
    numeric = [name for name, kind in kinds.items() if kind in NUMERIC_KINDS]
    values = {name: (numbers(real[name]), numbers(synthetic[name])) for name in numeric}
    scores = {}
    for first, second in combinations(numeric, 2):
        real_r = pearson(values[first][0], values[second][0])
        if real_r is None:
            continue
        synth_r = pearson(values[first][1], values[second][1]) or 0.0
        scores[pair_key(first, second)] = 1.0 - abs(real_r - synth_r) / 2
    return scores


def pearson(left: np.ndarray, right: np.ndarray) -> float | None:
    """Pearson's r over the rows where both are present; None when either is constant."""
    both = ~(np.isnan(left) | np.isnan(right))
    x, y = left[both], right[both]
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])
