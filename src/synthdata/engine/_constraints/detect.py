"""Constraints that hold in every real row, found from the data (`synthdata inspect`).

Proposed, each only when every real row meets it and it says more than the
columns' own ranges (which both synthesizers keep anyway):

- `inequality` between two numbers or two date-times, unless rows paired at
  random would keep it too (in 99 % of pairs): then the ranges already say it;
- `sum`: one number equal to the sum or difference of two others (a total, a
  change between two measures), found by fingerprints: a random weighted sum of
  each column over a few rows is linear, so a + b = c shows as fa + fb = fc and one
  sorted search finds every candidate among all pairs, checked on all rows after;
- `one_hot`: two or more 0/1 columns with one set in every row, among columns
  that share a name prefix (`channel_web`, `channel_store`) or all such columns;
- `fixed_combinations`: two categorical columns where one decides the other (each
  city in one region), which a model can break through rare levels (among the
  first 100 categorical columns, compared pairwise on integer codes).

Bounds are not proposed: every synthesizer stays inside each column's real range.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthdata.engine._constraints.types import (
    Constraint,
    FixedCombinations,
    Inequality,
    OneHot,
    Sum,
)
from synthdata.engine._constraints.view import View
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

MAX_ORDERED = 200  # columns compared pairwise for inequalities and sums
MAX_LEVELS = 1_000  # categorical columns beyond this are not checked for combinations
MAX_CATEGORICAL = 100  # categorical columns compared pairwise (the first ones, in order)
_PROBE = 64  # rows behind each sum fingerprint
_MIN_ROWS = 10  # rows a proposal must rest on
IMPLIED_SHARE = 0.99  # an order that random pairs of rows keep this often is not proposed


def propose(data: pd.DataFrame, schema: TableSchema) -> list[Constraint]:
    """Constraints every row of `data` meets (see the module docstring), with
    `real_share` set to 1.0."""
    view = View(data, schema)
    found: list[Constraint] = []
    numbers = [
        s.name for s in schema.columns if s.kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER)
    ][:MAX_ORDERED]
    stamps = [s.name for s in schema.columns if s.kind == ColumnKind.DATETIME][:MAX_ORDERED]
    sums = _sums(view, numbers)
    found += sums
    totals = {c.total for c in sums}
    found += _inequalities(view, [n for n in numbers if n not in totals])
    found += _inequalities(view, stamps)
    found += _one_hots(view, schema)
    found += _combinations(view, schema)
    for constraint in found:
        constraint.real_share = 1.0
    return found


def _inequalities(view: View, names: Sequence[str]) -> list[Constraint]:
    if len(names) < 2:
        return []
    matrix = np.column_stack([_as_numbers(view(n)) for n in names])
    present = ~np.isnan(matrix)
    shared = present.T.astype(np.int64) @ present.astype(np.int64)  # rows with both
    low, high = np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)
    out: list[Constraint] = []
    with np.errstate(invalid="ignore"):
        for i, name in enumerate(names[:-1]):
            rest = matrix[:, i + 1 :]
            either = ~present[:, [i]] | ~present[:, i + 1 :]
            below = ((matrix[:, [i]] <= rest) | either).all(axis=0)
            above = ((matrix[:, [i]] >= rest) | either).all(axis=0)
            strict_below = ((matrix[:, [i]] < rest) | either).all(axis=0)
            strict_above = ((matrix[:, [i]] > rest) | either).all(axis=0)
            for offset, other in enumerate(names[i + 1 :]):
                j = i + 1 + offset
                # Enough rows, and ranges that overlap (else the ranges alone decide it).
                if shared[i, j] < _MIN_ROWS or high[i] <= low[j] or high[j] <= low[i]:
                    continue
                if below[offset] and not _implied(matrix[:, i], matrix[:, j]):
                    out.append(Inequality(name, other, strict=bool(strict_below[offset])))
                elif above[offset] and not _implied(matrix[:, j], matrix[:, i]):
                    out.append(Inequality(other, name, strict=bool(strict_above[offset])))
    return out


def _implied(low: np.ndarray, high: np.ndarray) -> bool:
    """Whether `low <= high` would hold almost anyway with the rows paired at random
    (in at least 99 %): then the two columns' ranges, which every synthesizer keeps,
    say nearly as much, and the proposal would be noise (`smokeintensity < dbp`)."""
    shuffled = low[np.random.default_rng(0).permutation(len(low))]
    both = ~np.isnan(shuffled) & ~np.isnan(high)
    return bool(np.mean(shuffled[both] <= high[both]) >= IMPLIED_SHARE)


def _as_numbers(values: pd.Series) -> np.ndarray:
    """Numbers, or date-times as nanoseconds (exact in float64 to well under a second)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        nanos = values.dt.tz_convert(None) if values.dt.tz is not None else values
        out = nanos.astype("int64").to_numpy().astype(np.float64)
        out[values.isna().to_numpy()] = np.nan
        return out
    return values.to_numpy(dtype=float, na_value=np.nan)


def _sums(view: View, names: Sequence[str]) -> list[Sum]:
    """`total = a + b` or `total = a - b` (as `a = total + b`), each column used once."""
    if len(names) < 3:
        return []
    matrix = np.column_stack([view(n).to_numpy(float) for n in names])
    complete = np.flatnonzero(~np.isnan(matrix).any(axis=1))
    if len(complete) < _MIN_ROWS:
        return []
    rng = np.random.default_rng(0)
    probe = matrix[rng.choice(complete, min(_PROBE, len(complete)), replace=False)]
    weights = rng.normal(size=len(probe))
    prints = weights @ probe
    scale = np.abs(weights) @ np.abs(probe)
    order = np.argsort(prints)
    ranked = prints[order]
    out: list[Sum] = []
    used: set[int] = set()
    for i, j in itertools.combinations(range(len(names)), 2):
        if i in used or j in used:
            continue
        for sign in (1.0, -1.0):
            target = prints[i] + sign * prints[j]
            slack = 1e-9 * (scale[i] + scale[j]) + 1e-12
            lo = np.searchsorted(ranked, target - slack, side="left")
            hi = np.searchsorted(ranked, target + slack, side="right")
            for t in order[lo:hi]:
                if t in (i, j) or t in used:
                    continue
                found = _verified(view, names, i, j, int(t), sign)
                if found is not None:
                    out.append(found)
                    used.update((i, j, int(t)))
                    break
            if i in used:
                break
    return out


def _verified(view: View, names: Sequence[str], i: int, j: int, t: int, sign: float) -> Sum | None:
    """`names[t] = names[i] + sign * names[j]` on every row, as a `Sum` (or None)."""
    if sign > 0:
        candidate = Sum([names[i], names[j]], names[t])
    else:  # t = i - j  <=>  i = t + j
        candidate = Sum([names[t], names[j]], names[i])
    values = [view(n) for n in candidate.columns]
    if any(v.nunique() < 2 for v in values):
        return None
    # Derived, the total is null exactly where a part is: so must it be in the real rows.
    part_missing = np.logical_or.reduce([v.isna().to_numpy() for v in values[:-1]])
    if not np.array_equal(part_missing, values[-1].isna().to_numpy()):
        return None
    # The total is written with its own decimals: it must hold those of its parts.
    precision = [_decimals(view.schema[n]) for n in candidate.columns]
    if precision[-1] < max(precision[:-1]):
        return None
    return candidate if candidate.holds(view).all() else None


def _decimals(spec: ColumnSpec) -> float:
    """Decimals a number column is written with (integers 0; unrounded: no limit)."""
    if spec.kind == ColumnKind.INTEGER:
        return 0
    return float("inf") if spec.decimals is None else spec.decimals


def _binary(values: pd.Series) -> bool:
    distinct = values.dropna().unique()
    if len(distinct) > 2:
        return False
    text = {str(v).strip().lower() for v in distinct}
    return bool(text) and text <= {"0", "1", "1.0", "0.0", "true", "false", "yes", "no"}


def _one_hots(view: View, schema: TableSchema) -> list[Constraint]:
    binary = [
        s.name
        for s in schema.columns
        if s.kind in (ColumnKind.BOOLEAN, ColumnKind.INTEGER, ColumnKind.CATEGORICAL)
        and _binary(view(s.name))
    ]
    groups: dict[str, list[str]] = {}
    for name in binary:
        if "_" in name:
            groups.setdefault(name.rsplit("_", 1)[0], []).append(name)
    candidates = [g for g in groups.values() if len(g) >= 2] + [binary]
    out: list[Constraint] = []
    taken: set[str] = set()
    for group in candidates:
        if len(group) < 2 or taken & set(group):
            continue
        constraint = OneHot(list(group))
        if constraint.holds(view).all() and not _any_null(view, group):
            out.append(constraint)
            taken |= set(group)
    return out


def _any_null(view: View, names: Sequence[str]) -> bool:
    return any(view(n).isna().any() for n in names)


def _combinations(view: View, schema: TableSchema) -> list[Constraint]:
    codes: dict[str, np.ndarray] = {}
    for spec in schema.columns:
        if spec.kind not in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            continue
        factorized, uniques = pd.factorize(view(spec.name).astype(object))
        if 2 <= len(uniques) <= MAX_LEVELS:
            codes[spec.name] = factorized.astype(np.int64)  # -1 for nulls
        if len(codes) == MAX_CATEGORICAL:
            break
    out: list[Constraint] = []
    for a, b in itertools.combinations(codes, 2):
        both = (codes[a] >= 0) & (codes[b] >= 0)
        if both.sum() < _MIN_ROWS:
            continue
        first, second = codes[a][both], codes[b][both]
        levels_a, levels_b = int(first.max()) + 1, int(second.max()) + 1
        combos = len(np.unique(first * levels_b + second))
        seen_a, seen_b = len(np.unique(first)), len(np.unique(second))
        # One decides the other (each city in one region), and not trivially unique.
        decides = combos in (seen_a, seen_b)
        if decides and combos < len(first) and combos < levels_a * levels_b:
            constraint = FixedCombinations([a, b])
            constraint.learn(view)
            out.append(constraint)
    return out


def exact_sums(
    data: pd.DataFrame, schema: TableSchema, declared: Sequence[Constraint]
) -> list[Constraint]:
    """The `sum` constraints of `propose`, leaving out columns a declared sum names (a
    synthesizer derives these totals instead of drawing them)."""
    taken = {name for c in declared if isinstance(c, Sum) for name in c.columns}
    numbers = [
        s.name
        for s in schema.columns
        if s.kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER) and s.name not in taken
    ][:MAX_ORDERED]
    found: list[Constraint] = []
    for constraint in _sums(View(data, schema), numbers):
        constraint.real_share = 1.0
        constraint.found = True
        found.append(constraint)
    return found
