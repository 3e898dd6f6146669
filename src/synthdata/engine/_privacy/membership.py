"""A membership-inference attack: were these real rows in the generator's training set?

The attacker holds real rows, some of them training rows (members), some never seen
(non-members, the holdout), and the synthetic table. It scores each real row by minus
its distance to the nearest synthetic row: a generator that memorised its training rows
puts synthetic rows on or near them, so members score higher. The attack's ROC AUC over
equal numbers of members and non-members is 0.5 when the synthetic table says nothing
about membership and 1.0 when every training row is recognisable (a copy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from synthdata.engine._fidelity.canonical import subsample
from synthdata.engine._fidelity.embedding import mixed_embedding
from synthdata.engine.privacy import nearest_distances
from synthdata.engine.schema import ColumnKind


def membership_inference(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    max_rows: int = 5_000,
    seed: int = 0,
) -> dict[str, Any]:
    """The distance attack's AUC on as many members as non-members (both at most
    `max_rows`, seeded subsamples of canonical frames); returns `auc` and the counts."""
    rows = min(len(train), len(holdout), max_rows)
    members = subsample(train, rows, seed)
    others = subsample(holdout, rows, seed + 1)
    fake = subsample(synthetic, max_rows, seed + 2)
    # Scaled on the members: the attacker's view of "real" before it knows who is who.
    features = mixed_embedding([members, others, fake], kinds)
    scores = -np.concatenate(
        [nearest_distances(features[2], features[0]), nearest_distances(features[2], features[1])]
    )
    labels = np.concatenate([np.ones(len(members)), np.zeros(len(others))])
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "members": len(members),
        "non_members": len(others),
        "synthetic_rows": len(fake),
    }
