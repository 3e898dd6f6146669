"""Feature matrices for scikit-learn's histogram gradient boosting, native categories kept.

Detection and TSTR both train `HistGradientBoosting*` models on mixed tables. Numbers and
dates go in as floats (nulls as NaN, which the model routes natively); categories go in as
integer codes flagged categorical, so no one-hot blow-up and no made-up order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, numbers
from synthdata.engine.schema import ColumnKind

MAX_CODES = 250
"""Most frequent levels kept apart per category (the model allows at most 255 per feature)."""


def one_model_thread() -> threadpool_limits:
    """Run the boosting models on one OpenMP thread (use as a `with` block).

    Their OpenMP threads spin while they wait for each other: on a machine whose cores
    are busy with other work, two threads fitted a 1,800-row model 150 times slower than
    one (22 s against 0.14 s). The tables here are capped at tens of thousands of rows,
    where one thread fits a model in about a second anyway.
    """
    return threadpool_limits(limits=1, user_api="openmp")


@dataclass(frozen=True)
class TreeFeatures:
    """The column order and the category codes, learnt once from a reference frame."""

    names: tuple[str, ...]
    levels: dict[str, pd.Index]

    @classmethod
    def learn(cls, reference: pd.DataFrame, kinds: dict[str, ColumnKind]) -> TreeFeatures:
        """Keep the `MAX_CODES` most frequent levels of each category in `reference`.

        A column null in every row of `reference` tells the rows nothing (and gradient
        boosting cannot bin it): it is left out.
        """
        kept = {name: kind for name, kind in kinds.items() if reference[name].notna().any()}
        levels = {
            name: pd.Index(reference[name].dropna().astype(str).value_counts().index[:MAX_CODES])
            for name, kind in kept.items()
            if kind not in NUMERIC_KINDS
        }
        return cls(names=tuple(kept), levels=levels)

    @property
    def categorical_mask(self) -> np.ndarray:
        """Which columns of the matrix are categories."""
        return np.array([name in self.levels for name in self.names], dtype=bool)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The float matrix of a canonical `frame`: one column per name, in order.

        Other (rarer or unseen) levels share the code after the kept ones; nulls are NaN.
        """
        columns = []
        for name in self.names:
            if name not in self.levels:
                columns.append(numbers(frame[name]))
                continue
            known = self.levels[name]
            codes = known.get_indexer(frame[name].astype(str)).astype("float64")
            codes[codes < 0] = len(known)
            codes[frame[name].isna().to_numpy()] = np.nan
            columns.append(codes)
        if not columns:
            return np.zeros((len(frame), 0))
        return np.column_stack(columns)
