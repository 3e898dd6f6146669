"""How many children each synthetic parent row gets.

The parent's model draws a count per row given the row's columns; here those counts
are put on the real distribution's scale and, for a child's primary link, brought
to the total the scale asks for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.relational._fitting import count_column
from synthdata.relational.metadata import ForeignKey


def drawn_counts(parent: pd.DataFrame, fk: ForeignKey) -> np.ndarray:
    """The parent rows' drawn numbers of children through `fk` (whole, >= 0)."""
    if count_column(fk) not in parent.columns:  # a parent fitted on no rows: one each
        return np.ones(len(parent), dtype=np.int64)
    values = pd.to_numeric(parent[count_column(fk)], errors="coerce").to_numpy(dtype=float)
    return np.clip(np.nan_to_num(np.round(values)), 0, None).astype(np.int64)


def real_counts(drawn: np.ndarray, grid: list[int], rng: np.random.Generator) -> np.ndarray:
    """Drawn numbers of children replaced, rank for rank, by the real distribution's.

    The model decides which parent rows have more children than others (given their
    columns); the real distribution decides how many: the row ranked at share u of
    the synthetic rows gets the real count at quantile u. At scale 1 on a table of
    up to `COUNT_GRID` rows the counts are the real ones, reordered; the number of
    children per parent keeps its shape (heavy tails, the share of parents with none)
    where a drawn count is only as good as its bins. Ties are ranked at random.
    """
    if not len(drawn) or not grid:
        return drawn
    rank = np.lexsort((rng.random(len(drawn)), drawn)).argsort()
    share = (rank + 0.5) / len(drawn)
    index = np.minimum((share * len(grid)).astype(np.int64), len(grid) - 1)
    return np.asarray(grid, dtype=np.int64)[index]


def to_total(counts: np.ndarray, total: float, rng: np.random.Generator) -> np.ndarray:
    """`counts` scaled to sum to exactly `round(total)`, so the child table's size
    follows the scale: each row gets the whole part of its share, and the rows left to
    reach the total are given one more at random, in proportion to the part cut off
    (no row's count is biased up or down)."""
    target, drawn = max(round(total), 0), int(counts.sum())
    if drawn == target or drawn == 0:
        return counts
    scaled = counts * (target / drawn)
    whole = np.floor(scaled).astype(np.int64)
    short = target - int(whole.sum())
    cut = scaled - whole
    if short > 0:
        eligible = np.flatnonzero(cut > 0)
        picked = rng.choice(
            eligible,
            min(short, len(eligible)),
            replace=False,
            p=cut[eligible] / cut[eligible].sum(),
        )
        whole[picked] += 1
    return whole


def ones_to_total(ones: np.ndarray, total: float, rng: np.random.Generator) -> np.ndarray:
    """At most one child per parent row (the child's key is its parent's): rows drawn
    with none or one are switched at random until about `total` have one."""
    target = min(len(ones), round(total))
    have = int(ones.sum())
    if have == target:
        return ones
    switch = ones == (1 if have > target else 0)
    picked = rng.choice(np.flatnonzero(switch), abs(have - target), replace=False)
    out = ones.copy()
    out[picked] = 1 - out[picked]
    return out
