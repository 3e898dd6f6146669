"""Detection: can a classifier tell synthetic rows from real ones?

The strongest single test of a synthetic table, as in the TabSyn / TabDiff evaluations and
SDMetrics' detection metrics: if a gradient-boosting model, cross-validated, cannot rank
real above synthetic rows better than chance, the table reproduces the joint distribution
as far as that model can see.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import subsample
from synthdata.engine._fidelity.features import TreeFeatures, one_model_thread
from synthdata.engine.schema import ColumnKind

FOLDS = 5
MAX_ROWS = 10_000


def detection(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    *,
    folds: int = FOLDS,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> dict[str, Any]:
    """Real-vs-synthetic ROC AUC of a gradient-boosting classifier, and its score.

    Equal numbers of real and synthetic rows (the smaller table's count, at most
    `max_rows` each, drawn with `seed`) are labelled 0 and 1; scikit-learn's
    `HistGradientBoostingClassifier` (default settings, categories native) is scored by
    stratified `folds`-fold cross-validation; `auc` is the mean ROC AUC over the folds.
    `score` = 1 - (2 * max(auc, 0.5) - 1): 1.0 when the classifier does no better than
    chance, 0.0 when it separates the two perfectly. An AUC below 0.5 happens when the same
    rows sit in both classes (a copied table): the model, having seen a row as "real",
    calls its twin real too; it is read as chance. `labels` and the out-of-fold
    `probabilities` of being synthetic are returned for plotting.
    """
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    rows = min(len(real), len(synthetic), max_rows)
    if rows < folds or not kinds:
        return {"score": None, "auc": None, "auc_folds": [], "rows": rows}
    both = pd.concat(
        [subsample(real, rows, seed), subsample(synthetic, rows, seed + 1)], ignore_index=True
    )
    features = TreeFeatures.learn(both, kinds)
    if not features.names:
        return {"score": None, "auc": None, "auc_folds": [], "rows": rows}
    matrix = features.matrix(both)
    labels = np.repeat([0, 1], rows)
    model = HistGradientBoostingClassifier(
        categorical_features=features.categorical_mask, random_state=seed
    )
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # Out-of-fold probabilities: every row scored by a model that never saw it.
    predicted = np.zeros(len(labels))
    aucs = []
    with warnings.catch_warnings(), one_model_thread():
        warnings.simplefilter("ignore")
        for fit_rows, test_rows in splits.split(matrix, labels):
            fitted = clone(model).fit(matrix[fit_rows], labels[fit_rows])
            predicted[test_rows] = fitted.predict_proba(matrix[test_rows])[:, 1]
            aucs.append(float(roc_auc_score(labels[test_rows], predicted[test_rows])))
    auc = float(np.mean(aucs))
    return {
        "score": 1.0 - (2.0 * max(auc, 0.5) - 1.0),
        "auc": auc,
        "auc_folds": aucs,
        "rows": rows,
        "labels": labels,
        "probabilities": predicted,
    }
