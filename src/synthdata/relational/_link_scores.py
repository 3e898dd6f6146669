"""Scores of the links between tables: integrity, cardinality shape, parent-child trends.

Each foreign key is scored on its own, real against synthetic:

- referential integrity: the share of child rows whose key (every column present) is a
  key of a parent row; rows with a null in the key are not counted (a null key is no
  reference). The real tables' own share is kept beside it: real data may have orphans;
- cardinality shape: 1 - the Kolmogorov-Smirnov distance between the real and synthetic
  distributions of the number of children per parent row, parents without children
  counted as 0 (SDMetrics' CardinalityShapeSimilarity, on our KS complement);
- parent-child pair trends: every child row joined to its parent row's attributes (an
  orphan gets null attributes), then the fixed-bin pair trend of every pair of one child
  column and one parent column, on bins fixed from the real joined rows: the same score
  single tables get for their pairs.

Keys are compared as text, integral numbers without a decimal point, so a key read back
from a CSV as float or text still matches.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.bins import fixed_bins
from synthdata.engine._fidelity.canonical import subsample
from synthdata.engine._fidelity.shapes import ks_complement
from synthdata.engine._fidelity.trends import pair_trends
from synthdata.engine.report import pair_columns
from synthdata.engine.schema import ColumnKind

_KEY_SEPARATOR = "\x1f"  # the unit separator: never part of a key written as text


def key_text(frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> pd.Series:
    """One text key per row of `frame` over `columns`; null where any column is null."""
    parts = [_column_text(frame[name]) for name in columns]
    text = parts[0]
    for part in parts[1:]:
        text = text + _KEY_SEPARATOR + part
    missing = np.zeros(len(frame), dtype=bool)
    for name in columns:
        missing |= frame[name].isna().to_numpy()
    return text.mask(missing)


def _column_text(series: pd.Series) -> pd.Series:
    """Text of a key column; integral floats (a key read back as float) without ".0"."""
    series = series.reset_index(drop=True)
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        integral = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 2**53)
        text = series.astype(str).astype(object)
        text[integral] = values[integral].astype("int64").astype(str)
        return text
    return series.astype(str).astype(object)


def referential_integrity(child_keys: pd.Series, parent_keys: pd.Series) -> float:
    """Share of the non-null child keys that are keys of a parent row (1.0 when none)."""
    present = child_keys.dropna()
    if present.empty:
        return 1.0
    return float(present.isin(set(parent_keys.dropna())).mean())


def children_per_parent(child_keys: pd.Series, parent_keys: pd.Series) -> np.ndarray:
    """How many child rows reference each parent row (0 for parents with no children)."""
    counts = child_keys.dropna().value_counts()
    per_parent = counts.reindex(parent_keys.to_numpy(), fill_value=0)
    return per_parent.to_numpy(dtype="float64")


def cardinality_shape(real: np.ndarray, synthetic: np.ndarray) -> float:
    """1 - the KS distance of two children-per-parent distributions (0 if either is empty)."""
    return ks_complement(real, synthetic)


def parent_child_frame(
    child: pd.DataFrame,
    child_keys: pd.Series,
    parent: pd.DataFrame,
    parent_keys: pd.Series,
) -> pd.DataFrame:
    """Each child row beside its parent row's columns (nulls for an orphan).

    `child` and `parent` hold the scored columns only, already canonical and renamed
    with their table's prefix; a parent key that repeats (not a key in a synthetic
    table) is matched to its first row, so the child rows keep their number.
    """
    first = ~parent_keys.duplicated().to_numpy() & parent_keys.notna().to_numpy()
    lookup = pd.Index(parent_keys[first].to_numpy())
    rows = lookup.get_indexer(child_keys.to_numpy())
    attributes = parent.loc[first].reset_index(drop=True)
    # Index -1 (an orphan) picks a row of nulls appended after the parent rows.
    attributes = pd.concat([attributes, attributes.iloc[:0].reindex([len(attributes)])])
    joined = attributes.iloc[np.where(rows < 0, len(attributes) - 1, rows)]
    return pd.concat(
        [child.reset_index(drop=True), joined.reset_index(drop=True)], axis=1
    ).reset_index(drop=True)


def parent_child_trends(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    child_kinds: dict[str, ColumnKind],
    parent_kinds: dict[str, ColumnKind],
    *,
    max_rows: int,
    seed: int,
) -> dict[str, float]:
    """The pair trend of every (child column, parent column) pair of two joined frames."""
    kinds = {**child_kinds, **parent_kinds}
    if not child_kinds or not parent_kinds:
        return {}
    bins = fixed_bins(real, kinds)
    scores = pair_trends(
        subsample(real, max_rows, seed), subsample(synthetic, max_rows, seed + 1), kinds, bins
    )
    return {
        key: score
        for key, score in scores.items()
        if (pair_columns(key)[0] in child_kinds) != (pair_columns(key)[1] in child_kinds)
    }
