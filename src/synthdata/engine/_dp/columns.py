"""The columns of a dp fit: their kinds from public metadata, their domains found privately.

A column's kind comes from its dtype (or the user's override), never from its values:
numbers with an integer dtype are integers, other numbers continuous, datetime dtypes
(or text with a given `date_format`) date-times, booleans booleans, anything else
categorical. Nothing the ordinary schema learns from the values (null rates, decimals,
constants, identifier formats, PII detection) is kept.

Each column is then a short list of tokens, the last one for "null":
- numbers and date-times: cells of a fine grid between bounds that are public (given)
  or found privately (`private_bounds`): a noisy histogram over a fixed grid of
  magnitudes (±1, 2, 5 x 10^k) brackets the values, a second one zooms into the
  bracket; fine cells are grouped into `bins` coarse tokens of about equal noisy mass;
- categories: a public list (given) or the values whose noisy count passes a
  threshold (`Ledger.kept_keys`), plus one token for "another value".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._dp.accounting import Ledger
from synthdata.engine.columns import encode
from synthdata.engine.errors import InputError
from synthdata.engine.schema import ColumnKind, ColumnSpec

FINE_CELLS = 64  # cells of a number's fine grid (its one-way marginal)
_MAGNITUDES = np.array(
    [m * 10.0**k for k in range(-6, 20) for m in (1, 2, 5)], dtype=np.float64
)  # nanoseconds since 1970 reach 10^18
GRID = np.concatenate([-_MAGNITUDES[::-1], [0.0], _MAGNITUDES])
ZOOM_CELLS = 64  # cells of the second histogram, within the magnitude bracket
CLEAR_OF_NOISE = 4.0  # a grid cell counts when its noisy count exceeds this many sigmas
_LOG_SPACED = 50.0  # bounds this far apart in ratio (both >= 0) get log-spaced cells
NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)
LEVELS = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN)
_ALLOWED_OVERRIDES = {*NUMERIC, *LEVELS, ColumnKind.IDENTIFIER, ColumnKind.EMPTY}


def public_spec(
    name: str, series: pd.Series, forced: str | None, date_format: str | None
) -> ColumnSpec:
    """The column's spec from its dtype, the user's kind and date format only."""
    dtype = series.dtype
    spec = ColumnSpec(name=name, kind=ColumnKind.CATEGORICAL, source_dtype=str(dtype))
    if forced is not None:
        try:
            spec.kind = ColumnKind(forced)
        except ValueError:
            raise InputError(f"unknown column type {forced!r}") from None
        if spec.kind not in _ALLOWED_OVERRIDES:
            raise InputError(
                f"column {name!r}: a {spec.kind.value} column is learnt from its values, "
                "which differential privacy does not allow"
            )
    elif date_format is not None or pd.api.types.is_datetime64_any_dtype(dtype):
        spec.kind = ColumnKind.DATETIME
    elif pd.api.types.is_bool_dtype(dtype):
        spec.kind = ColumnKind.BOOLEAN
    elif pd.api.types.is_integer_dtype(dtype):
        spec.kind = ColumnKind.INTEGER
    elif pd.api.types.is_numeric_dtype(dtype):
        spec.kind = ColumnKind.CONTINUOUS
    if spec.kind == ColumnKind.DATETIME:
        spec.datetime_format = date_format
        spec.timezone = str(getattr(dtype, "tz", None) or "") or None
        # Whole days when the written format has no time of day; else seconds.
        spec.datetime_unit = "D" if date_format and "%H" not in date_format else "s"
    if spec.kind == ColumnKind.IDENTIFIER:
        spec.identifier_format = "uuid"  # any learnt format would come from the values
    return spec


@dataclass
class Column:
    """A modelled column's tokens: fine cells (numbers) or levels (categories)."""

    name: str
    edges: np.ndarray | None = None  # numbers: the fine cells' edges (FINE_CELLS + 1 or fewer)
    groups: np.ndarray | None = None  # numbers: each fine cell's coarse token
    levels: list[Any] | None = None  # categories: the kept values ("another value" follows)

    @property
    def fine_size(self) -> int:
        """Tokens of the one-way marginal, null included."""
        if self.edges is not None:
            return len(self.edges)  # len - 1 cells, plus null
        assert self.levels is not None
        return len(self.levels) + 2  # the kept values, "another value", null

    @property
    def size(self) -> int:
        """Coarse tokens (what the tree models), null included."""
        if self.groups is not None:
            return int(self.groups.max()) + 2
        return self.fine_size

    def coarse(self, fine: np.ndarray) -> np.ndarray:
        """Coarse tokens of fine ones (the null token stays last)."""
        if self.groups is None:
            return fine
        return np.append(self.groups, self.size - 1)[fine]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "levels": self.levels}


def numbers_of(series: pd.Series, spec: ColumnSpec) -> tuple[np.ndarray, np.ndarray]:
    """(values as floats, non-null mask); date-times in nanoseconds."""
    encoded = encode(series, spec)
    values = encoded.values
    if encoded.levels is not None:
        values = np.asarray(encoded.levels, dtype=np.float64)[values]
    full = np.zeros(len(encoded.present), dtype=np.float64)
    full[encoded.present] = values
    return full, encoded.present


def grid_cells(values: np.ndarray) -> np.ndarray:
    """The magnitude-grid cell of each value (0: below -GRID max, len(GRID): above)."""
    return np.searchsorted(GRID, values, side="right")


def private_bounds(
    values: np.ndarray, ledger: Ledger, rho: float, name: str
) -> tuple[float, float]:
    """(low, high) of a number column, spending `rho` on two noisy histograms.

    One over the fixed magnitude grid brackets the values (its outermost cells clearly
    above the noise). A second splits the bracket into as many cells (at most
    `ZOOM_CELLS`) as the first one's row count can fill well above the noise, and
    narrows the bracket to its clear cells plus one cell on each side, so the tails
    are kept rather than cut at the peak when noise is large."""
    sigma = 1 / math.sqrt(rho)  # each histogram spends rho / 2
    histogram = np.bincount(grid_cells(values), minlength=len(GRID) + 1)
    edges = np.concatenate([[GRID[0] * 10], GRID, [GRID[-1] * 10]])
    noisy = ledger.noisy_counts(histogram, rho / 2, "range", name)
    low, high = clear_span(noisy, edges, sigma)
    rows = float(np.clip(noisy, 0, None)[noisy > CLEAR_OF_NOISE * sigma].sum())
    cells = int(np.clip(rows / (2 * CLEAR_OF_NOISE * sigma), 3, ZOOM_CELLS))
    zoom = spaced(low, high, cells)
    where = np.clip(np.searchsorted(zoom, values, side="right") - 1, 0, cells - 1)
    noisy = ledger.noisy_counts(np.bincount(where, minlength=cells), rho / 2, "range", name)
    clear = np.flatnonzero(noisy > CLEAR_OF_NOISE * sigma)
    if len(clear):
        low, high = float(zoom[max(clear[0] - 1, 0)]), float(zoom[min(clear[-1] + 2, cells)])
    return low, high


def clear_span(noisy: np.ndarray, edges: np.ndarray, sigma: float) -> tuple[float, float]:
    """The span of the outermost cells whose noisy count is clearly above the noise,
    else of the single fullest cell (post-processing only)."""
    clear = np.flatnonzero(noisy > CLEAR_OF_NOISE * sigma)
    first, last = (clear[0], clear[-1]) if len(clear) else (int(np.argmax(noisy)),) * 2
    return float(edges[first]), float(edges[last + 1])


def spaced(low: float, high: float, cells: int) -> np.ndarray:
    """`cells` + 1 points from low to high: log-spaced for wide non-negative ranges."""
    if not high > low:
        high = low + 1.0
    steps = np.linspace(0.0, 1.0, cells + 1)
    if low >= 0 and high / max(low, 1e-12) > _LOG_SPACED:
        start = max(low, high / 10**4)
        spread = math.log(high / start)
        return low + (high - low) * np.expm1(steps * spread) / math.expm1(spread)
    return low + (high - low) * steps


def fine_edges(low: float, high: float, integer: bool) -> np.ndarray:
    """The fine grid over [low, high] (see `spaced`); whole-number cells for integers."""
    if not high > low:
        high = low + 1.0
    edges = spaced(low, high, FINE_CELLS)
    if integer:  # cells hold whole numbers: edges at halves, at least one number wide
        edges = np.unique(np.floor(edges) + 0.5)
        edges = np.unique(np.concatenate([[math.floor(low) - 0.5], edges, [math.ceil(high) + 0.5]]))
    return edges


def fine_tokens(values: np.ndarray, present: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each row's fine cell (values outside the bounds clipped in), null last."""
    cells = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    return np.where(present, cells, len(edges) - 1)


def group_cells(mass: np.ndarray, bins: int) -> np.ndarray:
    """Consecutive fine cells grouped into at most `bins` coarse tokens of about equal
    (noisy, non-negative) mass."""
    share = np.cumsum(np.maximum(mass, 0.0))
    total = share[-1]
    if total <= 0:
        return np.minimum(np.arange(len(mass)) * bins // len(mass), bins - 1)
    groups = np.minimum((share - mass.clip(0) / 2) / total * bins, bins - 1).astype(np.int64)
    return np.unique(groups, return_inverse=True)[1].astype(np.int64)


def level_tokens(series: pd.Series, spec: ColumnSpec, levels: list[Any]) -> np.ndarray:
    """Each row's level (a value not kept: "another value", len(levels)), null last."""
    present = series.notna().to_numpy()
    series = series.astype(object)  # files' text arrives dictionary-encoded
    keys = series.map(key_of) if spec.kind != ColumnKind.BOOLEAN else _booleans(series)
    index = {key_of(level): i for i, level in enumerate(levels)}
    tokens = keys.map(index).fillna(len(levels)).to_numpy(dtype=np.int64)
    return np.where(present, tokens, len(levels) + 1)


def key_of(value: Any) -> str:
    """A value as the text key the threshold counts it under."""
    return value if isinstance(value, str) else str(value)


def _booleans(series: pd.Series) -> pd.Series:
    encoded = encode(series, ColumnSpec(series.name or "", ColumnKind.BOOLEAN))
    values = pd.Series(np.full(len(series), "", dtype=object))
    assert encoded.levels is not None
    present = np.flatnonzero(encoded.present)
    values.iloc[present] = [str(encoded.levels[c]) for c in encoded.values]
    return values


def counts_by_key(series: pd.Series) -> dict[str, int]:
    """How many rows hold each non-null value, by `key_of` (the threshold's input)."""
    keys = series.dropna().astype(object).map(key_of)
    return {str(k): int(v) for k, v in keys.value_counts().items()}
