"""A numeric embedding of mixed-type rows in which Euclidean distance is a row distance.

Distance to closest record (privacy) and the k-NN balls of alpha-precision / beta-recall
(fidelity) both measure how near rows are; they share this one embedding so that "near"
means the same in both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import NUMERIC_KINDS, numbers
from synthdata.engine.schema import ColumnKind

MAX_ONE_HOT = 30  # most frequent real categories kept apart; rarer ones share one slot
_NULL_LABEL = "\x00null"


def mixed_embedding(frames: list[pd.DataFrame], kinds: dict[str, ColumnKind]) -> list[np.ndarray]:
    """Embed canonical `frames`; every statistic comes from the first (real) frame.

    Numbers and dates are centred on the real median and divided by the real IQR (else the
    standard deviation), so one unit is "a typical spread" whatever the column's scale, with
    a 0/1 null indicator when any value is missing. Categories are one-hot over the
    `MAX_ONE_HOT` most frequent real values (rarer and unseen values share one slot, nulls
    are a value), scaled by 1/sqrt(2) so that each mismatch adds exactly 1 to the squared
    distance.
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    for name, kind in kinds.items():
        if kind in NUMERIC_KINDS:
            values = [numbers(frame[name]) for frame in frames]
            center, scale = _center_scale(values[0])
            with_nulls = any(np.isnan(v).any() for v in values)
            for block, value in zip(blocks, values, strict=True):
                block.append(np.nan_to_num((value - center) / scale, nan=0.0)[:, None])
                if with_nulls:
                    block.append(np.isnan(value).astype("float64")[:, None])
            continue
        labels = [frame[name].fillna(_NULL_LABEL).astype(str) for frame in frames]
        top = pd.CategoricalDtype(labels[0].value_counts().index[:MAX_ONE_HOT])
        for block, label in zip(blocks, labels, strict=True):
            codes = label.astype(top).cat.codes.to_numpy()  # -1 (the last slot) = rare value
            onehot = np.zeros((len(label), len(top.categories) + 1))
            onehot[np.arange(len(label)), codes] = np.sqrt(0.5)
            block.append(onehot)
    return [
        np.hstack(block) if block else np.zeros((len(f), 0))
        for block, f in zip(blocks, frames, strict=True)
    ]


def _center_scale(values: np.ndarray) -> tuple[float, float]:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return 0.0, 1.0
    q25, q50, q75 = np.percentile(present, [25, 50, 75])
    scale = float(q75 - q25)
    if not scale > 0:
        scale = float(present.std())
    return float(q50), scale if scale > 0 else 1.0
