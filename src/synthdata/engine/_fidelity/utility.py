"""Machine-learning utility: train on synthetic, test on real (TSTR).

A model trained on the synthetic rows and one trained on the real training rows are both
tested on real rows that neither the generator nor the models saw (the holdout). The
synthetic table is as useful as the real one for that task when TSTR reaches TRTR.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, numbers, subsample
from synthdata.engine._fidelity.features import TreeFeatures, one_model_thread
from synthdata.engine.errors import InputError
from synthdata.engine.schema import ColumnKind

MAX_TRAIN_ROWS = 20_000
MAX_TEST_ROWS = 50_000
CLASSIFICATION_METRIC = "macro_f1"
REGRESSION_METRIC = "r2"


def task_of(kind: ColumnKind) -> str:
    """ "regression" for numbers and dates, "classification" for categories and booleans."""
    return "regression" if kind in NUMERIC_KINDS else "classification"


def train_test_score(
    train: pd.DataFrame,
    test: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    target: str,
    *,
    reference: pd.DataFrame | None = None,
    max_train_rows: int = MAX_TRAIN_ROWS,
    max_test_rows: int = MAX_TEST_ROWS,
    seed: int = 0,
) -> float | None:
    """Fit a gradient-boosting model on `train` to predict `target`; score it on `test`.

    Classification (category or boolean target): `HistGradientBoostingClassifier`,
    macro-averaged F1 (every class counts alike, so a model that ignores a rare class is
    not let off as accuracy would let it). Regression (numeric or date target):
    `HistGradientBoostingRegressor`, R^2. Default settings, `seed` fixed. Rows whose target
    is null are left out; the other scored columns are the features, their category codes
    learnt from `reference` (default: `train`), so that two models compared on one test
    set see the same encoding. None when there is nothing to learn or test.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score

    if target not in kinds:
        raise InputError(f"target column {target!r} is not a scored column of the table")
    features_kinds = {name: kind for name, kind in kinds.items() if name != target}
    train = subsample(train[train[target].notna()], max_train_rows, seed)
    test = subsample(test[test[target].notna()], max_test_rows, seed + 1)
    if len(train) < 2 or len(test) == 0:
        return None
    features = TreeFeatures.learn(reference if reference is not None else train, features_kinds)
    x_train, x_test = features.matrix(train), features.matrix(test)
    regression = task_of(kinds[target]) == "regression"
    y_train, y_test = _target(train[target], regression), _target(test[target], regression)
    with warnings.catch_warnings(), one_model_thread():
        warnings.simplefilter("ignore")
        if regression:
            model = HistGradientBoostingRegressor(
                categorical_features=features.categorical_mask, random_state=seed
            )
            return float(r2_score(y_test, model.fit(x_train, y_train).predict(x_test)))
        if len(np.unique(y_train)) < 2:  # one class only: the model can only predict it
            predicted = np.full(len(y_test), y_train[0], dtype=object)
        else:
            model = HistGradientBoostingClassifier(
                categorical_features=features.categorical_mask, random_state=seed
            )
            predicted = model.fit(x_train, y_train).predict(x_test)
        return float(f1_score(y_test, predicted, average="macro", zero_division=0))


def tstr(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    kinds: dict[str, ColumnKind],
    target: str,
    *,
    trtr: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """TSTR and TRTR on the holdout, and their ratio.

    `tstr`: a model trained on `synthetic`, `trtr`: on `train` (pass a known `trtr` to
    skip refitting it when comparing several synthetic tables); both tested on `holdout`
    with `train_test_score` and the training rows' category codes. `ratio` = tstr / trtr
    (None when trtr is not positive).
    """
    if trtr is None:
        trtr = train_test_score(train, holdout, kinds, target, reference=train, seed=seed)
    score = train_test_score(synthetic, holdout, kinds, target, reference=train, seed=seed)
    regression = task_of(kinds[target]) == "regression"
    ratio = score / trtr if score is not None and trtr is not None and trtr > 0 else None
    return {
        "target": target,
        "task": "regression" if regression else "classification",
        "metric": REGRESSION_METRIC if regression else CLASSIFICATION_METRIC,
        "tstr": score,
        "trtr": trtr,
        "ratio": ratio,
    }


def _target(series: pd.Series, regression: bool) -> np.ndarray:
    if regression:
        return numbers(series)
    return series.astype(str).to_numpy(dtype=object)
