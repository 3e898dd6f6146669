"""Choosing the parent row of a child's second (third...) foreign key.

A child row is drawn under its primary parent row; its model also draws a few
columns of each other parent (a survey's plot type beside its species). Each parent
row offers as many places as its drawn count of children; a child row takes a place
of a parent row with the values it drew where one is free, and the rows left over
take the places left over. So every parent row gets its number of children (when
the places and the rows add up), and as many children as can be match their parent;
the others are drawn again given the parent they got (see `_sampling`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 8  # numeric columns are matched by their bin among the parent's values


def match_parents(
    wanted: pd.DataFrame,
    parent: pd.DataFrame,
    counts: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `wanted` (the parent columns a child drew), a row of `parent`
    (the same columns, synthetic), and whether that row has the values wanted; see
    the module docstring."""
    rows = len(wanted)
    if not len(parent):
        return np.full(rows, -1), np.zeros(rows, dtype=bool)
    places = np.repeat(np.arange(len(parent)), counts.astype(np.int64))
    if len(places) < rows:  # more children than places: extra places by the counts
        weights = counts.astype(float) if counts.sum() > 0 else np.ones(len(parent))
        extra = rng.choice(len(parent), rows - len(places), p=weights / weights.sum())
        places = np.concatenate([places, extra])
    places = rng.permutation(places)
    if wanted.shape[1] == 0:
        return places[:rows], np.ones(rows, dtype=bool)
    child_code, parent_code = _signatures(wanted, parent)
    place_code = parent_code[places]
    out = np.full(rows, -1)
    taken = np.zeros(len(places), dtype=bool)
    child_order = np.lexsort((rng.random(rows), child_code))  # ties: children at random
    place_order = np.argsort(place_code, kind="stable")
    codes, starts = np.unique(child_code[child_order], return_index=True)
    ends = np.r_[starts[1:], rows]
    lows = np.searchsorted(place_code[place_order], codes, "left")
    highs = np.searchsorted(place_code[place_order], codes, "right")
    for start, end, low, high in zip(starts, ends, lows, highs, strict=True):
        take = min(end - start, high - low)
        chosen = place_order[low : low + take]
        out[child_order[start : start + take]] = places[chosen]
        taken[chosen] = True
    left = np.flatnonzero(out < 0)
    out[left] = places[rng.permutation(np.flatnonzero(~taken))[: len(left)]]
    matched = np.ones(rows, dtype=bool)
    matched[left] = parent_code[out[left]] == child_code[left]
    return out, matched


def _signatures(wanted: pd.DataFrame, parent: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row of each frame, equal where the rows' values match."""
    child_parts, parent_parts = [], []
    for mine, theirs in zip(wanted.columns, parent.columns, strict=True):
        a, b = wanted[mine], parent[theirs]
        if (
            pd.api.types.is_numeric_dtype(b)
            and not pd.api.types.is_bool_dtype(b)
            and b.nunique() > BINS
        ):
            edges = np.unique(np.nanquantile(b.to_numpy(float), np.linspace(0, 1, BINS + 1)[1:-1]))
            a = pd.Series(np.searchsorted(edges, pd.to_numeric(a, errors="coerce").to_numpy(float)))
            b = pd.Series(np.searchsorted(edges, b.to_numpy(float)))
        both = (
            [a, b]
            if a.dtype.kind in "biuf" and b.dtype.kind in "biuf"
            else [a.astype(object), b.astype(object)]
        )
        codes, _ = pd.factorize(pd.concat(both, ignore_index=True))
        child_parts.append(codes[: len(a)])
        parent_parts.append(codes[len(a) :])
    child = np.zeros(len(wanted), dtype=np.int64)
    parent_code = np.zeros(len(parent), dtype=np.int64)
    for c, p in zip(child_parts, parent_parts, strict=True):
        width = int(max(c.max(initial=0), p.max(initial=0))) + 1
        child, parent_code = child * width + c, parent_code * width + p
    return child, parent_code
