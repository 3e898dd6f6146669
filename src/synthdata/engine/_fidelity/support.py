"""Alpha-precision and beta-recall: does the synthetic table stay inside the real data's
support (precision), and does it reach all of it (recall)?

Alaa et al. (ICML 2022, "How faithful is your synthetic data?") define both over
alpha- and beta-quantile supports and integrate over alpha and beta; synthcity implements
that with a learnt one-class embedding. We use the simpler k-nearest-neighbour-ball
estimate of the same two ideas (Kynkaenniemi et al. 2019 for precision, Naeem et al. 2020
"coverage" for recall), with the full support (alpha = beta = 1), on the embedding that the
distance to closest record uses. It needs no training and gives the same reading: a
generator that invents rows off the real manifold loses precision; one that collapses onto
the common rows (mode collapse) loses recall.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import subsample
from synthdata.engine._fidelity.embedding import mixed_embedding
from synthdata.engine.schema import ColumnKind

NEIGHBOURS = 5
MAX_ROWS = 5_000
_CHUNK_CELLS = 4_000_000  # distances held at once: 32 MB of float64
_TOLERANCE = 1e-9


def alpha_precision_beta_recall(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    neighbours: int = NEIGHBOURS,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> dict[str, Any]:
    """The k-NN-ball alpha-precision and beta-recall of `synthetic` against `real`.

    Both tables are subsampled (seeded) to at most `max_rows` rows and embedded with
    `mixed_embedding` (statistics from the real rows). Each real row x gets a ball of
    radius r(x) = the distance to its k-th nearest other real row (k = `neighbours`).

    - alpha_precision = the share of synthetic rows s inside the union of the real balls,
      i.e. with ||s - x|| <= r(x) for some real x;
    - beta_recall = the share of real rows x whose own ball holds at least one synthetic
      row, i.e. whose nearest synthetic row is within r(x).

    Both are 1 for a synthetic table drawn from the real rows themselves; for a fresh
    sample of the same population they are close to but below 1 (about 1 - 2**-k for
    recall with equal table sizes), which is why the holdout's own scores are the baseline.
    """
    from sklearn.metrics import euclidean_distances
    from sklearn.neighbors import NearestNeighbors

    real_rows = subsample(real, max_rows, seed)
    fake_rows = subsample(synthetic, max_rows, seed + 1)
    if len(real_rows) <= neighbours or len(fake_rows) == 0:
        return {"alpha_precision": None, "beta_recall": None, "neighbours": neighbours}
    real_x, fake_x = mixed_embedding([real_rows, fake_rows], kinds)
    # k + 1 neighbours: the first is the row itself.
    index = NearestNeighbors(n_neighbors=neighbours + 1).fit(real_x)
    radius = index.kneighbors(real_x)[0][:, neighbours] + _TOLERANCE

    inside = np.zeros(len(fake_x), dtype=bool)
    step = max(1, _CHUNK_CELLS // len(real_x))
    for start in range(0, len(fake_x), step):
        distances = euclidean_distances(fake_x[start : start + step], real_x)
        inside[start : start + step] = (distances <= radius[None, :]).any(axis=1)

    nearest_fake = NearestNeighbors(n_neighbors=1).fit(fake_x).kneighbors(real_x)[0][:, 0]
    return {
        "alpha_precision": float(inside.mean()),
        "beta_recall": float(np.mean(nearest_fake <= radius)),
        "neighbours": neighbours,
        "rows": {"real": len(real_rows), "synthetic": len(fake_rows)},
    }
