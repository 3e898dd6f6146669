"""Choosing the column that splits the table into strata, and the strata themselves.

A stratum column is a low-cardinality categorical (no nulls) on which other columns
depend strongly; fitting one copula per level keeps every difference between the
levels (different correlations, different shapes) instead of one averaged copula.
Levels with too few rows to fit a copula share one "rest" stratum.
"""

from __future__ import annotations

import numpy as np

from synthdata.engine.columns import Encoded
from synthdata.engine.latent import Marginal

MAX_LEVELS = 16
MIN_ROWS = 400  # rows a level needs for a copula of its own
MIN_GAIN = 0.15  # summed dependence (eta^2) a column must explain to be worth it
SAMPLE_ROWS = 200_000


def choose(
    encoded: dict[str, Encoded],
    fitted: dict[str, tuple[Marginal, np.ndarray]],
    sources: list[str],
) -> str | None:
    """The source column whose levels explain most of the other columns, or None."""
    best, best_gain = None, MIN_GAIN
    for name in sources:
        enc = encoded[name]
        if enc.levels is None or not 2 <= len(enc.levels) <= MAX_LEVELS or not enc.present.all():
            continue
        counts = np.bincount(enc.values, minlength=len(enc.levels))
        if np.sort(counts)[-2] < MIN_ROWS:  # a single big level: nothing to split
            continue
        gain = sum(
            _eta_squared(enc.values[:SAMPLE_ROWS], fitted[other][1][:SAMPLE_ROWS], len(enc.levels))
            for other in sources
            if other != name
        )
        if gain > best_gain:
            best, best_gain = name, gain
    return best


def groups(enc: Encoded, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Row masks of the strata (big levels alone, small ones together) and their weights."""
    codes = enc.values
    counts = np.bincount(codes, minlength=len(enc.levels or []))
    masks: list[np.ndarray] = []
    weights: list[float] = []
    rest = np.zeros(n, dtype=bool)
    for level, count in enumerate(counts):
        if count >= MIN_ROWS:
            masks.append(codes == level)
            weights.append(count / n)
        elif count:
            rest |= codes == level
    if rest.any():
        masks.append(rest)
        weights.append(rest.sum() / n)
    return masks, np.asarray(weights)


def _eta_squared(codes: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of the variance of `scores` explained by the groups in `codes`."""
    ok = ~np.isnan(scores)
    if ok.sum() < 2:
        return 0.0
    codes, scores = codes[ok], scores[ok]
    counts = np.bincount(codes, minlength=k)
    sums = np.bincount(codes, weights=scores, minlength=k)
    mean = scores.mean()
    between = float(np.sum(np.where(counts > 0, sums**2 / np.maximum(counts, 1), 0.0)))
    between -= len(scores) * mean**2
    total = float(np.sum((scores - mean) ** 2))
    return between / total if total > 0 else 0.0
