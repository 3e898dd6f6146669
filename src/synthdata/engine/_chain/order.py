"""Which column comes first in the chain, and which earlier columns each one sees.

Columns with few tokens come first: categories and flags then split the table
into groups that the numeric columns after them are learnt within, which is
where most real trends live (the price of each product type, the age of each
diagnosis). On wide tables a column sees only the `max_parents` earlier columns
that share the most information with it, so the cost grows linearly in columns
instead of quadratically.
"""

from __future__ import annotations

import numpy as np

PROBE_ROWS = 5_000  # rows used to rank parents: enough to tell strong links from weak ones
SCREEN_ROWS = 2_000  # rows of the correlation screen (a k x k product: keep it cheap)
SCREEN = 2  # candidates kept by the screen per parent slot, then ranked by information


def chain_order(n_tokens: list[int], first: list[int] | None = None) -> list[int]:
    """Column positions: `first` as given, then the rest fewest tokens first (ties keep
    the table's order)."""
    lead = list(first or [])
    rest = sorted(set(range(len(n_tokens))) - set(lead), key=lambda i: (n_tokens[i], i))
    return lead + rest


def choose_parents(
    tokens: np.ndarray, n_tokens: list[int], max_parents: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """For each column of `tokens` (rows x columns, already in chain order): its parents.

    Every earlier column while there are at most `max_parents`; past that, the
    earlier columns with the highest normalised mutual information with it, among
    the `SCREEN * max_parents` earlier columns whose tokens correlate most with its
    own. The screen is one matrix product, so the cost stays about linear in columns
    (mutual information for every pair would be quadratic: 3,000 columns, 4.5M pairs).
    """
    columns = tokens.shape[1]
    if columns - 1 <= max_parents:
        return [np.arange(j, dtype=np.int32) for j in range(columns)]
    rows = tokens
    if len(tokens) > PROBE_ROWS:
        rows = tokens[rng.choice(len(tokens), PROBE_ROWS, replace=False)]
    links = _token_correlation(rows[:SCREEN_ROWS])
    shortlist = SCREEN * max_parents
    parents = []
    for j in range(columns):
        if j <= max_parents:
            parents.append(np.arange(j, dtype=np.int32))
            continue
        candidates = np.arange(j)
        if j > shortlist:
            candidates = np.argpartition(-links[j, :j], shortlist)[:shortlist]
        scores = np.array(
            [_shared_information(rows[:, j], rows[:, i], n_tokens[i]) for i in candidates]
        )
        best = candidates[np.argsort(-scores, kind="stable")[:max_parents]]
        parents.append(np.sort(best).astype(np.int32))
    return parents


def _token_correlation(rows: np.ndarray) -> np.ndarray:
    """Absolute correlation of every pair of token columns (columns x columns)."""
    values = rows.astype(np.float32)
    values -= values.mean(axis=0)
    scale = values.std(axis=0)
    values /= np.where(scale > 0, scale, 1.0)
    return np.abs(values.T @ values) / len(values)


def _entropy(counts: np.ndarray) -> float:
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * np.log(shares)).sum())


def _shared_information(target: np.ndarray, other: np.ndarray, other_tokens: int) -> float:
    """Mutual information of two token columns over the smaller of their entropies."""
    target_tokens = int(target.max()) + 1
    joint = np.bincount(
        target.astype(np.int64) * other_tokens + other, minlength=target_tokens * other_tokens
    ).reshape(target_tokens, other_tokens)
    p = joint / joint.sum()
    expected = p.sum(axis=1, keepdims=True) @ p.sum(axis=0, keepdims=True)
    mask = p > 0
    information = float((p[mask] * np.log(p[mask] / expected[mask])).sum())
    floor = min(_entropy(joint.sum(axis=1)), _entropy(joint.sum(axis=0)))
    return information / floor if floor > 0 else 0.0
