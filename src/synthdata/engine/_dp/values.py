"""From the dp model's tokens back to values, and the user's public inputs in.

Everything here is post-processing of noisy statistics or handling of public inputs:
no function reads the real rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._dp.columns import Column, key_of
from synthdata.engine.errors import InputError
from synthdata.engine.rare import LABELS
from synthdata.engine.schema import ColumnKind


def within_cells(
    column: Column, mass: np.ndarray, drawn: np.ndarray, uniform: np.ndarray
) -> np.ndarray:
    """A number inside each drawn coarse token: a fine cell by its noisy mass, then a
    uniform place in that cell (null rows get the low bound; `decode` drops them)."""
    assert column.edges is not None and column.groups is not None
    edges, groups = column.edges, column.groups
    cells = np.zeros(len(drawn), dtype=np.int64)
    for token in np.unique(drawn[drawn < column.size - 1]):
        members = np.flatnonzero(groups == token)
        weights = mass[members] + 1e-9
        cumulative = np.cumsum(weights) / weights.sum()
        rows = np.flatnonzero(drawn == token)
        picks = np.searchsorted(cumulative, uniform[rows, 0], side="right")
        cells[rows] = members[np.minimum(picks, len(members) - 1)]
    return edges[cells] + (edges[cells + 1] - edges[cells]) * uniform[:, 1]


def other_label(levels: list[Any]) -> str:
    """The text written for "another value": the first of `rare.LABELS` not a kept level."""
    taken = {key_of(level) for level in levels}
    return next((label for label in LABELS if label not in taken), "other value ")


def public_bounds(given: list[Any], kind: ColumnKind) -> tuple[float, float]:
    """A user's [low, high] in the model's units (nanoseconds for date-times)."""
    if len(given) != 2:
        raise InputError(f"bounds must be [low, high], not {given!r}")
    if kind == ColumnKind.DATETIME:
        return tuple(float(pd.Timestamp(v).value) for v in given)  # type: ignore[return-value]
    return float(given[0]), float(given[1])


def plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
