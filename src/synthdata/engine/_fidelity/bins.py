"""Bins fixed once from the real training rows, the same for every synthetic table.

SDMetrics' ContingencySimilarity bins a numeric column with edges computed from the two
tables it compares, so each generator is scored on different bins and a generator that
spreads values widely coarsens its own bins. Here the edges come from the real training
rows alone: every generator, and the holdout, is scored on the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, numbers
from synthdata.engine.schema import ColumnKind

NUMERIC_BINS = 10
MAX_LEVELS = 50


@dataclass(frozen=True)
class ColumnBins:
    """How one column's values map to bin numbers 0 .. size - 1.

    Numeric: values below the first edge fall in bin 0, values in [edge i, edge i+1) in bin
    i + 1; nulls in the last bin. Categorical: each of `levels` its own bin, then one bin
    for real levels too rare to keep apart, one for levels the real rows never had, one
    for nulls.
    """

    edges: np.ndarray | None = None
    levels: tuple[str, ...] = ()
    rare: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        if self.edges is not None:
            return len(self.edges) + 2
        return len(self.levels) + 3

    def codes(self, series: pd.Series) -> np.ndarray:
        """The bin number of every value of a canonical column."""
        if self.edges is not None:
            values = numbers(series)
            codes = np.searchsorted(self.edges, values, side="right")
            codes[np.isnan(values)] = self.size - 1
            return codes.astype(np.int64)
        known = len(self.levels)
        lookup = pd.Index(self.levels)
        codes = lookup.get_indexer(series.astype(object))
        text = series.astype(object)
        unmatched = codes < 0
        rare = unmatched & text.isin(self.rare).to_numpy()
        codes[rare] = known
        codes[unmatched & ~rare] = known + 1
        codes[series.isna().to_numpy()] = known + 2
        return codes.astype(np.int64)


def fixed_bins(
    real: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    numeric_bins: int = NUMERIC_BINS,
    max_levels: int = MAX_LEVELS,
) -> dict[str, ColumnBins]:
    """The bins of every scored column, from the real training rows only.

    Numbers and dates: edges at the real quantiles 1/n, ..., (n-1)/n (``inverted_cdf``, so
    the edges are real values and a column with few distinct values gets one bin per
    value), duplicates merged: up to `numeric_bins` bins of about equal real mass, plus a
    null bin. Categories and booleans: the `max_levels` most frequent real levels each a
    bin (more would make the pair tables mostly sampling noise), the rarer real levels
    one bin, unseen levels one bin, nulls one bin.
    """
    bins = {}
    quantiles = np.arange(1, numeric_bins) / numeric_bins
    for name, kind in kinds.items():
        if kind in NUMERIC_KINDS:
            values = numbers(real[name])
            values = values[~np.isnan(values)]
            edges = (
                np.unique(np.quantile(values, quantiles, method="inverted_cdf"))
                if values.size
                else np.empty(0)
            )
            bins[name] = ColumnBins(edges=edges)
            continue
        counts = real[name].dropna().astype(str).value_counts()
        levels = tuple(str(v) for v in counts.index[:max_levels])
        rare = frozenset(str(v) for v in counts.index[max_levels:])
        bins[name] = ColumnBins(levels=levels, rare=rare)
    return bins


def bin_codes(frame: pd.DataFrame, bins: dict[str, ColumnBins]) -> dict[str, np.ndarray]:
    """The bin numbers of every binned column of a canonical `frame`."""
    return {name: column.codes(frame[name]) for name, column in bins.items()}
